package io.isthmus.gateway.cli;

import picocli.CommandLine.Option;

/** The {@code --admin URL} option of every command that talks to a running gateway. */
final class AdminOption {
    @Option(names = "--admin", defaultValue = AdminClient.DEFAULT_ADMIN, paramLabel = "URL",
            description = "The gateway's admin HTTP address (default: ${DEFAULT-VALUE}).")
    String url;

    AdminClient client() {
        return new AdminClient(url);
    }
}
