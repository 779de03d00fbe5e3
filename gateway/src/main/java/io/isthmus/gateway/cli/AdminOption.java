package io.isthmus.gateway.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Map;

/**
 * The options of every command that talks to a running gateway: where it is ({@code --admin}) and who we are
 * ({@code --token}, or an entry of a credentials file). See {@link AdminCredentials} for the order they are tried in.
 */
final class AdminOption {
    @Option(names = "--admin", paramLabel = "URL",
            description = "The gateway's admin HTTP address (default: the credentials file's current gateway, else "
                    + AdminClient.DEFAULT_ADMIN + ").")
    String url;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "The bearer token to send (default: $" + AdminCredentials.TOKEN_ENV
                    + ", else the credentials file's entry for this gateway).")
    String token;

    @Option(names = "--credentials", paramLabel = "FILE",
            description = "The credentials file (default: $" + AdminCredentials.FILE_ENV + ", else "
                    + "~/.config/isthmus/credentials).")
    Path credentials;

    @Option(names = "--context", paramLabel = "NAME",
            description = "Which gateway of the credentials file to use (default: its 'current').")
    String context;

    AdminClient client() {
        return AdminCredentials.resolve(url, token, credentials, context, System.getenv(),
                Path.of(System.getProperty("user.home"))).client();
    }

    /** For tests: resolve against a given environment and home directory. */
    AdminCredentials.Resolved resolve(Map<String, String> env, Path home) {
        return AdminCredentials.resolve(url, token, credentials, context, env, home);
    }
}
