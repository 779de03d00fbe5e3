package io.isthmus.tunnel;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.fastpath.IpPrefix;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.fastpath.RouteNetlink;
import io.isthmus.fastpath.TunDevice;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * The device part of the data plane: the network namespace (the gateway's own or a named one), the TUN device in it
 * (offloads where the kernel takes them, else plain), the netlink socket that configures it and its routes, and
 * the {@link TunnelEngine} whose threads and sockets live in that namespace. Opened together, closed together.
 */
public final class TunnelDevice implements AutoCloseable {
    private static final System.Logger log = System.getLogger(TunnelDevice.class.getName());

    /** {@code AUTO}: offloads where the kernel takes them, else plain TUN (and {@link #dataPath()} says why). */
    public enum Offloads { AUTO, ON, OFF }

    /**
     * What to open.
     *
     * @param name      the TUN device's name
     * @param address   an address (CIDR) for the device, if any; routes need none
     * @param queues    TUN queues, each with its own pair of engine threads
     * @param namespace a named network namespace ({@code ip netns}); empty: the current one
     * @param listen    where the engine's UDP sockets listen
     * @param grace     how long a replaced session still opens packets
     * @param suite     the AEAD suite, for the data path's description
     */
    public record Spec(String name, Optional<IpPrefix> address, int mtu, int queues, Offloads offloads,
                       String namespace, InetSocketAddress listen, Duration grace, Suite suite) {
    }

    private final NetNamespace namespace;
    private final TunDevice tun;
    private final RouteNetlink netlink;
    private final TunnelEngine engine;
    private final String dataPath;

    private TunnelDevice(NetNamespace namespace, TunDevice tun, RouteNetlink netlink, TunnelEngine engine,
                         String dataPath) {
        this.namespace = namespace;
        this.tun = tun;
        this.netlink = netlink;
        this.engine = engine;
        this.dataPath = dataPath;
    }

    /**
     * Opens the TUN device (MTU, address, up) and starts the engine. Fails, saying what to do, without root
     * (CAP_NET_ADMIN), in a namespace that does not exist, or on a UDP port in use; closes what it opened.
     */
    public static TunnelDevice open(Spec spec, InstantSource clock) {
        NetNamespace namespace = spec.namespace().isEmpty() ? null : NetNamespace.named(spec.namespace());
        String where = namespace == null ? "" : " in network namespace " + namespace.name();
        TunDevice tun = null;
        RouteNetlink netlink = null;
        TunnelEngine engine = null;
        try {
            String dataPath;
            boolean offloads = spec.offloads() != Offloads.OFF;
            TunDevice.Options plain = TunDevice.Options.defaults().withQueues(spec.queues());
            try {
                tun = inside(namespace, () -> TunDevice.open(spec.name(), offloads
                        ? OffloadTunPacketQueue.deviceOptions(spec.queues()) : plain));
                dataPath = offloads ? "TUN with offloads (vnet header, checksum, TSO4, TSO6)" : "plain TUN (offloads = off)";
            } catch (IOException e) {
                if (spec.offloads() != Offloads.AUTO) {
                    throw e;
                }
                String reason = e.getMessage();
                tun = inside(namespace, () -> TunDevice.open(spec.name(), plain));
                dataPath = "plain TUN (offloads unavailable: " + reason + ")";
                log.log(System.Logger.Level.WARNING, "tunnel: the TUN device took no offloads (" + reason
                        + "); running plain TUN");
            }
            TunDevice device = tun;
            netlink = inside(namespace, RouteNetlink::open);
            netlink.setMtu(device.name(), spec.mtu());
            if (spec.address().isPresent()) {
                netlink.addAddress(device.name(), spec.address().get());
            }
            netlink.setUp(device.name(), true);
            List<PacketQueue> queues = device.options().vnetHeader() ? OffloadTunPacketQueue.of(device)
                    : TunPacketQueue.of(device);
            TunnelEngine.Config config = new TunnelEngine.Config(spec.listen(), spec.mtu(), 32, spec.grace(), 4 << 20,
                    Translation.none(), true); // UDP GSO/GRO where the kernel has it; udpPath() says what it got
            TunnelEngine.ThreadStarter threads = namespace == null ? TunnelEngine.ThreadStarter.platform()
                    : namespace::startThread;
            engine = inside(namespace, () -> TunnelEngine.start(config, queues, threads, clock));
            dataPath += ", " + spec.queues() + (spec.queues() == 1 ? " queue" : " queues")
                    + ", batched UDP (recvmmsg/sendmmsg; " + engine.udpPath() + "), "
                    + spec.suite().name().toLowerCase(Locale.ROOT).replace('_', '-');
            return new TunnelDevice(namespace, device, netlink, engine, dataPath);
        } catch (InvalidFieldException e) {
            closeAll(engine, netlink, tun);
            throw e;
        } catch (Exception e) {
            closeAll(engine, netlink, tun);
            throw new IllegalStateException("cannot start the tunnel (isthmus.tunnel, device " + spec.name()
                    + where + ", listen " + spec.listen() + "): " + e.getMessage(), e);
        }
    }

    private static <T> T inside(NetNamespace namespace, Callable<T> task) throws Exception {
        return namespace == null ? task.call() : namespace.call(task);
    }

    public TunnelEngine engine() {
        return engine;
    }

    public RouteNetlink netlink() {
        return netlink;
    }

    public String name() {
        return tun.name();
    }

    /** The namespace's name, or empty for the current one. */
    public String namespace() {
        return namespace == null ? "" : namespace.name();
    }

    /** The data path in words: TUN offloads or plain, queues, socket batching, cipher suite. */
    public String dataPath() {
        return dataPath;
    }

    /** Closes the device first (that wakes the engine's readers), then the engine, then netlink; routes go with it. */
    @Override
    public void close() {
        closeAll(engine, netlink, tun);
    }

    private static void closeAll(TunnelEngine engine, RouteNetlink netlink, TunDevice tun) {
        if (tun != null) {
            tun.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (netlink != null) {
            netlink.close();
        }
    }
}
