package io.isthmus.gateway.admin;

import com.typesafe.config.Config;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code isthmus.admin.auth}: whether callers must authenticate (on unless {@code isthmus demo} turns it off),
 * where the hashed tokens live, whether Prometheus may scrape /metrics without a token, and which host names the
 * API answers to besides addresses and localhost.
 */
public record AdminAuthSettings(boolean enabled, Path tokensFile, boolean metricsOpen, List<String> allowedHosts) {
    public AdminAuthSettings {
        allowedHosts = List.copyOf(allowedHosts);
    }

    /** Reads {@code auth} (the block under isthmus.admin); a relative tokens file is in {@code dataDir}. */
    public static AdminAuthSettings read(Config auth, Path dataDir) {
        String file = auth.getString("tokens-file");
        Path tokens = file.isBlank() ? dataDir.resolve("admin-tokens.json") : dataDir.resolve(file).normalize();
        return new AdminAuthSettings(auth.getBoolean("enabled"), tokens, auth.getBoolean("metrics-open"),
                auth.getStringList("allowed-hosts").stream().map(h -> h.toLowerCase(java.util.Locale.ROOT)).toList());
    }
}
