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
 * }
 * </pre>
 * The token is, first found: {@code --token}; {@code $ISTHMUS_TOKEN}; the file's entry named by {@code --context},
 * else the entry whose admin is the {@code --admin} URL, else the current entry. The admin URL is {@code --admin},
 * else that entry's, else the default. Without any, requests go out without a token (and a gateway with auth on
 * answers 401 with a hint).
 */
final class AdminCredentials {
    static final String TOKEN_ENV = "ISTHMUS_TOKEN";
    static final String FILE_ENV = "ISTHMUS_CREDENTIALS";

    record Resolved(String adminUrl, Optional<String> token) {
        AdminClient client() {
            return new AdminClient(adminUrl, token);
        }
    }

    private AdminCredentials() {
    }

    static Resolved resolve(String adminFlag, String tokenFlag, Path fileFlag, String contextFlag,
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
        return new Resolved(admin, token);
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
