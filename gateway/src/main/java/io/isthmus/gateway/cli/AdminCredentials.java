package io.isthmus.gateway.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigUtil;
import io.isthmus.api.InvalidFieldException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where the CLI finds the gateway and its token, as kubectl does with a kubeconfig. The credentials file (HOCON or
 * JSON, owner-only because it holds secrets) names gateways and which one is current:
 * <pre>
 * current = east
 * gateways {
 *   east { admin = "http://127.0.0.1:7070", token = "isth_..." }
 *   west { admin = "http://10.0.0.7:7070", token-file = "/run/secrets/west-token" }
 *   north {
 *     admin = "https://10.0.0.9:7070"
 *     certificate-authority = "ca.crt"            # the clusterset CA: which gateways to trust
 *     client-certificate = "alice.admin.crt"      # isthmus mesh issue --role operator --user alice
 *     client-key = "alice.admin.key"
 *     crl = "ca.crl"                              # default: the ca.crl beside certificate-authority, if any
 *   }
 * }
 * </pre>
 * Relative paths are relative to the file. An https admin URL needs the CA ({@code --cacert} or the entry's
 * certificate-authority); {@code --cert}/{@code --key} (or the entry's) present a client certificate, which the
 * gateway then takes as the credential; a gateway whose certificate the CA's CRL ({@code --crl}, the entry's crl, or
 * the {@code ca.crl} beside the CA certificate) revokes is refused. The (a token is sent too, but a gateway looks at it only without a certificate).
 * The token is, first found: {@code --token}; {@code $ISTHMUS_TOKEN}; the file's entry named by {@code --context},
 * else the entry whose admin is the {@code --admin} URL, else the current entry. The admin URL is {@code --admin},
 * else that entry's, else the default. Without any, requests go out without a token (and a gateway with auth on
 * answers 401 with a hint).
 */
final class AdminCredentials {
    static final String TOKEN_ENV = "ISTHMUS_TOKEN";
    static final String FILE_ENV = "ISTHMUS_CREDENTIALS";

    /**
     * TLS files for an https admin URL; each empty when not given. {@code crl}: the CA's CRL, against which the
     * gateway's certificate is checked; when not given, the {@code ca.crl} beside the CA certificate if there is one.
     */
    record Tls(Optional<Path> caCertificate, Optional<Path> clientCertificate, Optional<Path> clientKey,
               Optional<Path> crl) {
        static final Tls NONE = new Tls(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

        Tls(Optional<Path> caCertificate, Optional<Path> clientCertificate, Optional<Path> clientKey) {
            this(caCertificate, clientCertificate, clientKey, Optional.empty());
        }

        /** The flags first, each file entry only where its flag is missing. */
        Tls or(Tls fallback) {
            return new Tls(caCertificate.or(fallback::caCertificate), clientCertificate.or(fallback::clientCertificate),
                    clientKey.or(fallback::clientKey), crl.or(fallback::crl));
        }

        /** The CRL to check gateways against: the one given, else the CA's {@code ca.crl} beside its certificate. */
        Optional<Path> effectiveCrl() {
            return crl.or(() -> caCertificate.map(ca -> ca.toAbsolutePath().resolveSibling(
                    io.isthmus.gateway.pki.ClustersetCa.CRL)).filter(java.nio.file.Files::isRegularFile));
        }
    }

    record Resolved(String adminUrl, Optional<String> token, Tls tls) {
        Resolved(String adminUrl, Optional<String> token) {
            this(adminUrl, token, Tls.NONE);
        }

        AdminClient client() {
            return new AdminClient(adminUrl, token, tls);
        }
    }

    private AdminCredentials() {
    }

    static Resolved resolve(String adminFlag, String tokenFlag, Path fileFlag, String contextFlag,
                            Map<String, String> env, Path home) {
        return resolve(adminFlag, tokenFlag, fileFlag, contextFlag, Tls.NONE, env, home);
    }

    static Resolved resolve(String adminFlag, String tokenFlag, Path fileFlag, String contextFlag, Tls tlsFlags,
                            Map<String, String> env, Path home) {
        Optional<String> token = Optional.ofNullable(tokenFlag).or(() -> Optional.ofNullable(env.get(TOKEN_ENV)))
                .map(String::strip).filter(t -> !t.isEmpty());
        boolean fileNamed = fileFlag != null || env.containsKey(FILE_ENV);
        Path file = fileFlag != null ? fileFlag
                : env.containsKey(FILE_ENV) ? Path.of(env.get(FILE_ENV))
                : home.resolve(".config/isthmus/credentials");
        String field = fileFlag != null ? "--credentials" : env.containsKey(FILE_ENV) ? "$" + FILE_ENV : "credentials file";
        Optional<Config> entry = Optional.empty();
        if (Files.exists(file)) {
            entry = entry(read(field, file), field, file, adminFlag, contextFlag);
        } else if (fileNamed) {
            throw new InvalidFieldException(field, file.toString(), "no such file");
        } else if (contextFlag != null) {
            throw new InvalidFieldException("--context", contextFlag, "there is no credentials file at " + file);
        }
        String admin = adminFlag != null ? adminFlag
                : entry.map(e -> e.getString("admin")).orElse(AdminClient.DEFAULT_ADMIN);
        if (token.isEmpty() && entry.isPresent()) {
            token = tokenOf(entry.get(), field, file);
        }
        Tls tls = entry.isPresent() ? tlsFlags.or(tlsOf(entry.get(), file)) : tlsFlags;
        return new Resolved(admin, token, tls);
    }

    private static Tls tlsOf(Config gateway, Path path) {
        Path dir = path.toAbsolutePath().getParent();
        java.util.function.Function<String, Optional<Path>> file = key -> gateway.hasPath(key)
                ? Optional.of(dir.resolve(gateway.getString(key))) : Optional.empty();
        return new Tls(file.apply("certificate-authority"), file.apply("client-certificate"), file.apply("client-key"),
                file.apply("crl"));
    }

    private static Config read(String field, Path file) {
        try {
            return ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults()
                    .setSyntax(ConfigSyntax.CONF).setAllowMissing(false)).resolve();
        } catch (ConfigException e) {
            throw new InvalidFieldException(field, file.toString(), "cannot be read: " + e.getMessage());
        }
    }

    private static Optional<Config> entry(Config file, String field, Path path, String adminFlag, String contextFlag) {
        Config gateways = file.hasPath("gateways") ? file.getConfig("gateways") : ConfigFactory.empty();
        if (contextFlag != null) {
            if (!gateways.hasPath(quoted(contextFlag))) {
                throw new InvalidFieldException("--context", contextFlag, "is not a gateway in " + path
                        + " (it has: " + String.join(", ", gateways.root().keySet()) + ")");
            }
            return Optional.of(checked(gateways.getConfig(quoted(contextFlag)), field, path, contextFlag));
        }
        if (adminFlag != null) {
            String wanted = stripSlash(adminFlag);
            for (String name : gateways.root().keySet()) {
                Config g = checked(gateways.getConfig(quoted(name)), field, path, name);
                if (stripSlash(g.getString("admin")).equals(wanted)) {
                    return Optional.of(g);
                }
            }
            return Optional.empty(); // a gateway the file does not know: no token from the file
        }
        if (!file.hasPath("current")) {
            return Optional.empty();
        }
        String current = file.getString("current");
        if (!gateways.hasPath(quoted(current))) {
            throw new InvalidFieldException(field, path + ": current", current + " is not one of its gateways");
        }
        return Optional.of(checked(gateways.getConfig(quoted(current)), field, path, current));
    }

    private static Config checked(Config gateway, String field, Path path, String name) {
        if (!gateway.hasPath("admin")) {
            throw new InvalidFieldException(field, path + ": gateways." + name + ".admin", "missing");
        }
        return gateway;
    }

    private static Optional<String> tokenOf(Config gateway, String field, Path path) {
        if (gateway.hasPath("token")) {
            return Optional.of(gateway.getString("token").strip());
        }
        if (gateway.hasPath("token-file")) {
            Path tokenFile = path.toAbsolutePath().getParent().resolve(gateway.getString("token-file"));
            try {
                return Optional.of(Files.readString(tokenFile).strip());
            } catch (java.io.IOException e) {
                throw new InvalidFieldException(field, path + ": token-file", tokenFile + " cannot be read: " + e);
            }
        }
        return Optional.empty();
    }

    private static String quoted(String key) {
        return ConfigUtil.joinPath(key); // a name with a dot is one key, not a path
    }

    private static String stripSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
