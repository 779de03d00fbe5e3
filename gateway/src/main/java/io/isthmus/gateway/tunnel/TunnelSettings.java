package io.isthmus.gateway.tunnel;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.fastpath.IpPrefix;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.tunnel.ConnectionTracker;
import io.isthmus.tunnel.RekeyPolicy;
import io.isthmus.tunnel.Suite;
import io.isthmus.tunnel.TunnelDataPlane;
import io.isthmus.tunnel.TunnelDevice;
import io.isthmus.tunnel.WireFormat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@code isthmus.tunnel} block: whether this replica runs the encrypted data plane, and how.
 *
 * @param listen      where peers send tunnel datagrams (UDP)
 * @param advertise   the address peers are told to send to; empty: {@code listen}, which must then be a specific IP
 * @param device      the TUN device's name
 * @param address     an address (CIDR) for the TUN device, if any; routes need none
 * @param queues      TUN queues, each with its own pair of threads
 * @param offloads    whether the TUN device is opened with the vnet header and TCP offloads
 * @param namespace   a named network namespace ({@code ip netns}) to open the TUN device and the UDP sockets in;
 *                    empty: the gateway's own
 * @param connectionTracking the policy stage's connection tracker: capacity and timeouts
 * @param xdp         the XDP pre-filter on the underlay interface ({@link UnderlayXdp})
 * @param wireVersion the newest data-plane header version agreed with peers; lower only while upgrading from a
 *                    build that speaks no newer (0: the wire from before versions)
 */
public record TunnelSettings(boolean enabled, HostPort listen, Optional<HostPort> advertise, String device,
                             Optional<IpPrefix> address, int mtu, int queues, TunnelDevice.Offloads offloads, Suite suite,
                             Duration rekeyAfterTime, long rekeyAfterBytes, long rekeyAfterPackets, String namespace,
                             ConnectionTracker.Settings connectionTracking, Xdp xdp, int wireVersion) {
    static final String ROOT = "isthmus.tunnel.";

    /** {@code tunnel.xdp}: off, or how to attach. */
    public enum XdpMode {
        OFF, AUTO, GENERIC, NATIVE
    }

    /**
     * @param mode            off; auto (native, else generic, else none and the status says why); generic or
     *                        native (that or the gateway does not start)
     * @param interfaceName   the underlay interface; empty: the one holding the listen address (or, for a wildcard
     *                        listen, the advertised one) in the tunnel's namespace
     * @param passUnannounced a datagram from a source no peer announced passes when it names a live session (NAT,
     *                        roaming), counted apart; false drops it
     */
    public record Xdp(XdpMode mode, String interfaceName, boolean passUnannounced) {
    }

    /** Reads the block (already merged with reference.conf). */
    public static TunnelSettings read(Config c) {
        boolean enabled = bool(c, "enabled");
        HostPort listen = HostPort.parse(ROOT + "listen", string(c, "listen"));
        String advertiseText = string(c, "advertise");
        Optional<HostPort> advertise = advertiseText.isBlank() ? Optional.empty()
                : Optional.of(HostPort.parse(ROOT + "advertise", advertiseText));
        String device = string(c, "device");
        if (device.isEmpty() || device.length() > 15 || !device.matches("[A-Za-z0-9_.-]+")) {
            throw new InvalidFieldException(ROOT + "device", device,
                    "must be a network device name of 1..15 letters, digits, '-', '_' or '.'");
        }
        String addressText = string(c, "address");
        Optional<IpPrefix> address = Optional.empty();
        if (!addressText.isBlank()) {
            if (!addressText.contains("/")) {
                throw new InvalidFieldException(ROOT + "address", addressText,
                        "must be ADDRESS/PREFIX, e.g. 169.254.77.1/32 (the prefix is missing)");
            }
            try {
                address = Optional.of(IpPrefix.parse(addressText));
            } catch (RuntimeException e) {
                throw new InvalidFieldException(ROOT + "address", addressText,
                        "must be ADDRESS/PREFIX, e.g. 169.254.77.1/32 (" + e.getMessage() + ")");
            }
        }
        int mtu = integer(c, "mtu");
        if (mtu < 576 || mtu > 9000) {
            throw new InvalidFieldException(ROOT + "mtu", mtu, "must be 576..9000");
        }
        int queues = integer(c, "queues");
        if (queues < 1 || queues > 64) {
            throw new InvalidFieldException(ROOT + "queues", queues, "must be 1..64");
        }
        String offloadsText = string(c, "offloads");
        TunnelDevice.Offloads offloads = switch (offloadsText.toLowerCase(Locale.ROOT)) {
            case "auto" -> TunnelDevice.Offloads.AUTO;
            case "on" -> TunnelDevice.Offloads.ON;
            case "off" -> TunnelDevice.Offloads.OFF;
            default -> throw new InvalidFieldException(ROOT + "offloads", offloadsText, "must be auto, on or off");
        };
        Suite suite = Suite.parse(ROOT + "suite", string(c, "suite"));
        Duration after;
        try {
            after = c.getDuration("rekey-after-time");
        } catch (ConfigException e) {
            throw new InvalidFieldException(ROOT + "rekey-after-time", c.getValue("rekey-after-time").unwrapped(),
                    "must be a duration such as 120s or 2m");
        }
        if (after.compareTo(Duration.ofSeconds(10)) < 0 || after.compareTo(Duration.ofDays(1)) > 0) {
            throw new InvalidFieldException(ROOT + "rekey-after-time", after, "must be between 10s and 1d");
        }
        long bytes;
        try {
            bytes = c.getBytes("rekey-after-bytes");
        } catch (ConfigException e) {
            throw new InvalidFieldException(ROOT + "rekey-after-bytes", c.getValue("rekey-after-bytes").unwrapped(),
                    "must be a size such as 64 GiB or 1 TiB");
        }
        if (bytes < (1L << 20)) {
            throw new InvalidFieldException(ROOT + "rekey-after-bytes", bytes, "must be at least 1 MiB");
        }
        long packets;
        try {
            packets = c.getLong("rekey-after-packets");
        } catch (ConfigException e) {
            throw new InvalidFieldException(ROOT + "rekey-after-packets", c.getValue("rekey-after-packets").unwrapped(),
                    "must be a whole number");
        }
        if (packets < 1000 || packets > (1L << 48)) {
            throw new InvalidFieldException(ROOT + "rekey-after-packets", packets, "must be 1000..2^48");
        }
        String namespace = string(c, "namespace");
        if (namespace.contains("/") || namespace.equals(".") || namespace.equals("..")) {
            throw new InvalidFieldException(ROOT + "namespace", namespace,
                    "must be the name of a network namespace under /var/run/netns (no '/')");
        }
        int wireVersion = integer(c, "wire-version");
        if (wireVersion < WireFormat.VERSION_UNVERSIONED || wireVersion > WireFormat.VERSION) {
            throw new InvalidFieldException(ROOT + "wire-version", wireVersion, "this build speaks "
                    + WireFormat.VERSION_UNVERSIONED + ".." + WireFormat.VERSION);
        }
        TunnelSettings settings = new TunnelSettings(enabled, listen, advertise, device, address, mtu, queues,
                offloads, suite, after, bytes, packets, namespace, connectionTracking(c), xdp(c), wireVersion);
        if (enabled) {
            settings.advertised(); // a wildcard listen address without advertise is an error now, not at start
        }
        return settings;
    }

    private static Xdp xdp(Config c) {
        String modeText = string(c, "xdp");
        XdpMode mode = switch (modeText.toLowerCase(Locale.ROOT)) {
            case "off", "false", "no" -> XdpMode.OFF;
            case "auto" -> XdpMode.AUTO;
            case "generic" -> XdpMode.GENERIC;
            case "native" -> XdpMode.NATIVE;
            default -> throw new InvalidFieldException(ROOT + "xdp", modeText, "must be off, auto, generic or native");
        };
        String interfaceName = string(c, "xdp-interface");
        if (!interfaceName.isEmpty() && (interfaceName.length() > 15 || !interfaceName.matches("[A-Za-z0-9_.@-]+"))) {
            throw new InvalidFieldException(ROOT + "xdp-interface", interfaceName,
                    "must be a network interface name of 1..15 characters, or empty");
        }
        String unannounced = string(c, "xdp-unannounced-sources");
        boolean pass = switch (unannounced.toLowerCase(Locale.ROOT)) {
            case "pass-on-live-session" -> true;
            case "drop" -> false;
            default -> throw new InvalidFieldException(ROOT + "xdp-unannounced-sources", unannounced,
                    "must be pass-on-live-session or drop");
        };
        return new Xdp(mode, interfaceName, pass);
    }

    /** The {@code connection-tracking} block; the tracker's own checks, named by the config key. */
    private static ConnectionTracker.Settings connectionTracking(Config c) {
        String block = "connection-tracking.";
        int capacity = integer(c, block + "capacity");
        Duration tcp = duration(c, block + "tcp-timeout");
        Duration closing = duration(c, block + "tcp-closing-timeout");
        Duration udp = duration(c, block + "udp-timeout");
        try {
            return new ConnectionTracker.Settings(capacity, tcp, closing, udp);
        } catch (InvalidFieldException e) {
            throw e.as(ROOT + block + e.field());
        }
    }

    private static Duration duration(Config c, String key) {
        try {
            return c.getDuration(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException(ROOT + key, c.getValue(key).unwrapped(), "must be a duration such as 30s or 1h");
        }
    }

    /** The endpoint peers are told to send to. */
    public HostPort advertised() {
        HostPort endpoint = advertise.orElse(listen);
        InetAddress ip;
        try {
            ip = InetAddress.ofLiteral(endpoint.host());
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(advertise.isPresent() ? ROOT + "advertise" : ROOT + "listen",
                    endpoint, "must be an IP address (peers are told it; no name lookups)");
        }
        if (ip.isAnyLocalAddress()) {
            throw new InvalidFieldException(ROOT + "advertise", "", "must be set when tunnel.listen is a wildcard ("
                    + listen + "): the IP:PORT other clusters' gateways send tunnel datagrams to");
        }
        return endpoint;
    }

    /** What the device part opens: the TUN device, its namespace, the engine's sockets. */
    public TunnelDevice.Spec deviceSpec() {
        return new TunnelDevice.Spec(device, address, mtu, queues, offloads, namespace, listen.toSocketAddress(),
                rekeyPolicy().grace(), suite);
    }

    /** What the data plane runs with; a peer without any link for {@code forgetAfter} is removed. */
    public TunnelDataPlane.Settings dataPlane(Duration forgetAfter) {
        return new TunnelDataPlane.Settings(deviceSpec(), advertised().toSocketAddress(), rekeyPolicy(), forgetAfter,
                connectionTracking, wireVersion);
    }

    /** The rekey schedule: time and volume from here, the tunnel module's defaults for the rest. */
    public RekeyPolicy rekeyPolicy() {
        return RekeyPolicy.defaults().withAfter(rekeyAfterTime).withVolume(rekeyAfterPackets, rekeyAfterBytes);
    }

    private static String string(Config c, String key) {
        try {
            return c.getString(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException(ROOT + key, c.getValue(key).unwrapped(), "must be a string");
        }
    }

    private static int integer(Config c, String key) {
        try {
            return c.getInt(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException(ROOT + key, c.getValue(key).unwrapped(), "must be a whole number");
        }
    }

    private static boolean bool(Config c, String key) {
        try {
            return c.getBoolean(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException(ROOT + key, c.getValue(key).unwrapped(), "must be on or off");
        }
    }
}
