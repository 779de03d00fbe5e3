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

    @Option(names = "--cacert", paramLabel = "FILE",
            description = "For an https admin URL: the clusterset CA certificate (ca.crt) the gateway's certificate "
                    + "must come from (default: the credentials file's certificate-authority).")
    Path caCertificate;

    @Option(names = "--cert", paramLabel = "FILE",
            description = "An admin client certificate to present over https (isthmus mesh issue --role R --user NAME).")
    Path clientCertificate;

    @Option(names = "--key", paramLabel = "FILE", description = "The private key of --cert.")
    Path clientKey;

    @Option(names = "--crl", paramLabel = "FILE",
            description = "For an https admin URL: the clusterset CA's CRL; a gateway whose certificate it revokes is "
                    + "refused (default: the credentials file's crl, else the ca.crl beside the CA certificate).")
    Path crl;

    AdminCredentials.Tls tls() {
        return new AdminCredentials.Tls(java.util.Optional.ofNullable(caCertificate),
                java.util.Optional.ofNullable(clientCertificate), java.util.Optional.ofNullable(clientKey),
                java.util.Optional.ofNullable(crl));
    }

    AdminClient client() {
        return AdminCredentials.resolve(url, token, credentials, context, tls(), System.getenv(),
                Path.of(System.getProperty("user.home"))).client();
    }

    /** For tests: resolve against a given environment and home directory. */
    AdminCredentials.Resolved resolve(Map<String, String> env, Path home) {
        return AdminCredentials.resolve(url, token, credentials, context, tls(), env, home);
    }
}
