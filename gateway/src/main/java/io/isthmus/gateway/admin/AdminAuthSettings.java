package io.isthmus.gateway.admin;

import com.typesafe.config.Config;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code isthmus.admin.auth} and {@code isthmus.admin.tls}: whether callers must authenticate (on unless
 * {@code isthmus demo} turns it off), where the hashed tokens live, whether Prometheus may scrape /metrics without
 * a token, which host names the API answers to besides addresses and localhost, and whether the API is served
 * over TLS (with the gateway's certificate), where a client certificate of the clusterset CA also authenticates.
 */
public record AdminAuthSettings(boolean enabled, Path tokensFile, boolean metricsOpen, List<String> allowedHosts,
                                boolean tls) {
    public AdminAuthSettings {
        allowedHosts = List.copyOf(allowedHosts);
    }

    /** Reads {@code auth} and {@code tls} of {@code admin} (isthmus.admin); a relative tokens file is in {@code dataDir}. */
    public static AdminAuthSettings read(Config admin, Path dataDir) {
        Config auth = admin.getConfig("auth");
        String file = auth.getString("tokens-file");
        Path tokens = file.isBlank() ? dataDir.resolve("admin-tokens.json") : dataDir.resolve(file).normalize();
        boolean tls;
        try {
            tls = admin.getBoolean("tls.enabled");
        } catch (com.typesafe.config.ConfigException.WrongType e) {
            throw new io.isthmus.api.InvalidFieldException("isthmus.admin.tls.enabled",
                    admin.getValue("tls.enabled").unwrapped(), "expected true or false");
        }
        return new AdminAuthSettings(auth.getBoolean("enabled"), tokens, auth.getBoolean("metrics-open"),
                auth.getStringList("allowed-hosts").stream().map(h -> h.toLowerCase(java.util.Locale.ROOT)).toList(),
                tls);
    }
}
