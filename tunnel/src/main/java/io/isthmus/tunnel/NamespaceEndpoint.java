package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.fastpath.TunDevice;
import io.isthmus.fastpath.IpPrefix;
import io.isthmus.fastpath.Route;
import io.isthmus.fastpath.RouteNetlink;
import java.time.InstantSource;
import java.util.List;

/**
 * One tunnel endpoint living in a network namespace: a multi-queue TUN device made there (MTU set, up, with a route
 * to each remote range through it, set through rtnetlink), and a {@link TunnelEngine} whose sockets were opened there
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
            try (RouteNetlink netlink = namespace.call(RouteNetlink::open)) {
                netlink.setMtu(tun.name(), config.mtu());
                netlink.setUp(tun.name(), true);
                for (Cidr range : remoteRanges) {
                    netlink.replaceRoute(Route.to(IpPrefix.parse(range.toString()), tun.name()));
                }
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
}
