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

    @Override
    public Integer call() throws Exception {
        GatewayConfig settings = GatewayConfigLoader.load(config);
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
