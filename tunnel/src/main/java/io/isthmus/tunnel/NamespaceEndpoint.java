package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.fastpath.TunDevice;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One tunnel endpoint living in a network namespace: a multi-queue TUN device made there (MTU set, up, with a route
 * to each remote range through it, via {@code ip -n}), and a {@link TunnelEngine} whose sockets were opened there
 * and whose loops run on platform threads pinned into it. For the namespace test and the benchmark; the gateway
 * wires its own. Needs root.
 */
public final class NamespaceEndpoint implements AutoCloseable {
    private final NetNamespace namespace;
    private final TunDevice tun;
    private final TunnelEngine engine;

    private NamespaceEndpoint(NetNamespace namespace, TunDevice tun, TunnelEngine engine) {
        this.namespace = namespace;
        this.tun = tun;
        this.engine = engine;
    }

    /**
     * @param offload      TUN with the vnet header, TSO and checksum offload ({@link OffloadTunPacketQueue}), or plain
     * @param remoteRanges the networks routed into the tunnel from this namespace
     */
    public static NamespaceEndpoint start(NetNamespace namespace, String tunName, int queues, boolean offload,
                                          TunnelEngine.Config config, List<Cidr> remoteRanges, InstantSource clock)
            throws Exception {
        TunDevice.Options options = offload ? OffloadTunPacketQueue.deviceOptions(queues)
                : TunDevice.Options.defaults().withQueues(queues);
        TunDevice tun = namespace.call(() -> TunDevice.open(tunName, options));
        try {
            ip(namespace, "link", "set", tun.name(), "mtu", Integer.toString(config.mtu()), "up");
            for (Cidr range : remoteRanges) {
                ip(namespace, range.isIpv4() ? "-4" : "-6", "route", "replace", range.toString(), "dev", tun.name());
            }
            List<PacketQueue> packetQueues = offload ? OffloadTunPacketQueue.of(tun) : TunPacketQueue.of(tun);
            TunnelEngine engine = namespace.call(() -> TunnelEngine.start(config, packetQueues, namespace::startThread,
                    clock));
            return new NamespaceEndpoint(namespace, tun, engine);
        } catch (Exception | Error e) {
            tun.close();
            throw e;
        }
    }

    public TunnelEngine engine() {
        return engine;
    }

    public NetNamespace namespace() {
        return namespace;
    }

    public String tunName() {
        return tun.name();
    }

    /** Closes the device first (that wakes the readers blocked in it), then the engine. */
    @Override
    public void close() {
        tun.close();
        engine.close();
    }

    /** Runs {@code ip -n NAMESPACE args...}; throws with its output when it fails. */
    static void ip(NetNamespace namespace, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("ip", "-n", namespace.name()));
        command.addAll(List.of(args));
        run(command);
    }

    static void run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within 30 s");
        }
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (exit " + process.exitValue() + "): "
                    + output.strip());
        }
    }
}
