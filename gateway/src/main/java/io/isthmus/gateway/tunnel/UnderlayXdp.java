package io.isthmus.gateway.tunnel;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.fastpath.Availability;
import io.isthmus.fastpath.FastPaths;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.fastpath.XdpFilter;
import io.isthmus.tunnel.TunnelDataPlane;
import io.isthmus.tunnel.UnderlayFilter;
import io.isthmus.tunnel.XdpUnderlay;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code tunnel.xdp} made real: the {@link XdpFilter} on the tunnel's underlay interface (named, or the one holding
 * the listen address, else the advertised one, in the tunnel's namespace), with session checks, pinned under
 * {@code /sys/fs/bpf/isthmus/NETNS-INTERFACE}, kept in step with the data plane by {@link XdpUnderlay}. A peer whose
 * datagrams come from another address than it announced (NAT, roaming) is not cut off silently: with
 * {@code xdp-unannounced-sources = pass-on-live-session} its datagrams pass on a live session and are counted as
 * {@code passed/unannounced_source}; with {@code drop} they are dropped and counted as {@code dropped/unknown_source};
 * either way the status and /metrics show the count.
 */
final class UnderlayXdp {
    private static final System.Logger log = System.getLogger(UnderlayXdp.class.getName());
    static final Path PIN_ROOT = XdpFilter.DEFAULT_PIN_DIRECTORY;

    private UnderlayXdp() {
    }

    /**
     * What {@code settings.xdp()} asks for, in front of {@code plane}: a running filter, or {@link UnderlayFilter#none}
     * saying why not (off, or auto where XDP is unavailable).
     *
     * @throws InvalidFieldException for generic or native where that mode cannot be had (the gateway does not start)
     */
    static UnderlayFilter start(TunnelSettings settings, TunnelDataPlane plane) {
        TunnelSettings.Xdp xdp = settings.xdp();
        if (xdp.mode() == TunnelSettings.XdpMode.OFF) {
            return UnderlayFilter.none("off (tunnel.xdp = off)");
        }
        String asked = "tunnel.xdp = " + xdp.mode().name().toLowerCase(Locale.ROOT);
        try {
            Availability available = FastPaths.xdp();
            if (!available.available()) {
                throw new IOException("XDP is unavailable: " + available.reason());
            }
            NetNamespace namespace = plane.namespace().isEmpty() ? null : NetNamespace.named(plane.namespace());
            String interfaceName = xdp.interfaceName().isEmpty() ? underlayInterface(settings, namespace)
                    : xdp.interfaceName();
            XdpFilter.Mode mode = switch (xdp.mode()) {
                case AUTO -> XdpFilter.Mode.AUTO;
                case GENERIC -> XdpFilter.Mode.GENERIC;
                case NATIVE -> XdpFilter.Mode.NATIVE;
                case OFF -> throw new AssertionError("handled above");
            };
            Path pins = pinDirectory(namespace, interfaceName);
            XdpFilter.Options options = new XdpFilter.Options(interfaceName, mode, plane.localAddress().getPort(),
                    pins, namespace).withSessionChecks(xdp.passUnannounced() ? XdpFilter.Sources.PASS_ON_LIVE_SESSION
                    : XdpFilter.Sources.KNOWN_ONLY);
            XdpFilter filter = XdpFilter.attach(options);
            String description = "xdp " + filter.modeReport() + " on " + interfaceName + " (" + asked
                    + "), session checks, unannounced sources " + (xdp.passUnannounced()
                    ? "pass on a live session" : "dropped") + ", maps pinned in " + pins;
            return new XdpUnderlay(filter, description, plane::receiveFloors);
        } catch (IOException | RuntimeException e) {
            if (xdp.mode() != TunnelSettings.XdpMode.AUTO) {
                throw new InvalidFieldException(TunnelSettings.ROOT + "xdp", xdp.mode().name().toLowerCase(Locale.ROOT),
                        "cannot be had here: " + e.getMessage() + " (auto starts without XDP instead)");
            }
            log.log(System.Logger.Level.WARNING, "tunnel: running without the XDP pre-filter: {0}", e.getMessage());
            return UnderlayFilter.none("none (" + asked + "): " + e.getMessage());
        }
    }

    /** {@code /sys/fs/bpf/isthmus/NETNS-INTERFACE} (bpffs refuses '.' in names: those become '_'). */
    static Path pinDirectory(NetNamespace namespace, String interfaceName) {
        return PIN_ROOT.resolve(((namespace == null ? "" : namespace.name() + "-") + interfaceName).replace('.', '_'));
    }

    /** The interface holding the listen address (a wildcard: the advertised one) in the tunnel's namespace. */
    private static String underlayInterface(TunnelSettings settings, NetNamespace namespace) throws IOException {
        InetAddress listen = InetAddress.ofLiteral(settings.listen().host());
        InetAddress address = listen.isAnyLocalAddress() ? InetAddress.ofLiteral(settings.advertised().host()) : listen;
        NetworkInterface found;
        try {
            found = namespace == null ? NetworkInterface.getByInetAddress(address)
                    : namespace.call(() -> NetworkInterface.getByInetAddress(address));
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
        if (found == null) {
            throw new IOException("no interface holds " + address.getHostAddress()
                    + (namespace == null ? "" : " in network namespace " + namespace.name())
                    + ": set tunnel.xdp-interface to the underlay interface");
        }
        return found.getName();
    }
}
