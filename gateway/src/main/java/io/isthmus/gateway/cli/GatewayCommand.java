package io.isthmus.gateway.cli;

import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "gateway", description = "Run one gateway replica until stopped (SIGTERM or Ctrl-C).")
final class GatewayCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "HOCON file with settings under isthmus { ... } (see the gateway's reference.conf).")
    Path config;

    @Option(names = "--exit-with-parent", hidden = true, paramLabel = "PID",
            description = "Stop when process PID ends (used by the demo so no gateway outlives it).")
    Long parentPid;

    /** The entry of a gateway process started by {@link GatewayProcess}: {@code gateway}'s options only. */
    public static void main(String[] args) {
        CliRunner.exit(new picocli.CommandLine(new GatewayCommand()), args);
    }

    /**
     * The config, after joining with {@code isthmus.tls.join-token-file} if it is set and the tls dir does not hold
     * this cluster's certificate yet; loaded again then, so the peers the join handed over are in it.
     */
    static GatewayConfig loadJoined(Path config, java.io.PrintStream log) {
        GatewayConfig settings = GatewayConfigLoader.load(config);
        if (settings.joinTokenFile().isEmpty()
                || io.isthmus.gateway.pki.JoinClient.holdsCertificate(settings.tlsDir(), settings.clusterId())) {
            return settings;
        }
        Path tokenFile = settings.joinTokenFile().get();
        String text;
        try {
            text = java.nio.file.Files.readString(tokenFile);
        } catch (java.io.IOException e) {
            throw new io.isthmus.api.InvalidFieldException("isthmus.tls.join-token-file", tokenFile,
                    "cannot read it: " + e.getMessage());
        }
        var token = io.isthmus.gateway.pki.JoinToken.parse("isthmus.tls.join-token-file", text);
        if (!token.cluster().equals(settings.clusterId())) {
            throw new io.isthmus.api.InvalidFieldException("isthmus.tls.join-token-file", tokenFile,
                    "the token is for cluster " + token.cluster() + ", but this gateway is " + settings.clusterId());
        }
        try {
            var joined = io.isthmus.gateway.pki.JoinClient.join(token, settings.tlsDir(), false, java.time.Duration.ofSeconds(15));
            log.println("joined cluster " + joined.cluster() + " (certificate serial "
                    + joined.certificate().getSerialNumber().toString(16) + ", peers " + joined.peers() + ")");
        } catch (io.isthmus.gateway.pki.JoinRefusedException | io.isthmus.gateway.pki.PkiException e) {
            throw new CliException("cannot join with " + tokenFile + ": " + e.getMessage());
        }
        return GatewayConfigLoader.load(config);
    }

    @Override
    public Integer call() throws Exception {
        GatewayConfig settings = loadJoined(config, System.out);
        Gateway gateway = Gateway.start(settings);
        Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "isthmus-shutdown"));
        if (parentPid != null) {
            ProcessHandle.of(parentPid).ifPresentOrElse(
                    parent -> parent.onExit().thenRun(() -> System.exit(0)),
                    () -> System.exit(0));
        }
        System.out.println("gateway " + settings.clusterId() + " ready: admin http://"
                + io.isthmus.gateway.config.HostPort.format(gateway.adminAddress()));
        gateway.awaitTermination();
        return 0;
    }
}
