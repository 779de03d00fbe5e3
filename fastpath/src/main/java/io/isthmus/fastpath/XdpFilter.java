package io.isthmus.fastpath;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * The underlay pre-filter: the XDP program of {@code fastpath/bpf/isthmus_xdp.c} (shipped in this jar) loaded
 * through libbpf and attached to one interface. It drops datagrams to the tunnel port that no known peer can have
 * sent (a source not allowed by {@link #allowPeer}, too short for the tunnel header and tag, not a tunnel header)
 * and passes everything else; {@link #counters()} says how many of each, summed over CPUs.
 *
 * <p>The maps are pinned under the pin directory (default {@code /sys/fs/bpf/isthmus}) so that tools can read them
 * while it runs; {@link #attach} first removes what a crashed process left there and a stale program of ours on the
 * interface, and {@link #close()} detaches and unpins. Interface calls (name lookup, attach, query, detach) run in
 * {@link Options#namespace()} when one is given, else in the calling thread's network namespace. Thread-safe.
 */
public final class XdpFilter implements AutoCloseable {
    private static final System.Logger log = System.getLogger(XdpFilter.class.getName());
    /** Where {@link Options#defaults} pins the maps. */
    public static final Path DEFAULT_PIN_DIRECTORY = Path.of("/sys/fs/bpf/isthmus");
    /** Where bpffs is mounted when nothing is mounted there and the pin directory lies under it. */
    static final Path BPF_MOUNT_POINT = Path.of("/sys/fs/bpf");
    static final String PROGRAM = "isthmus_xdp";
    static final String CONFIG_MAP = "ist_xdp_config";
    static final String PEERS_MAP = "ist_known_peers";
    static final String COUNTS_MAP = "ist_xdp_counts";
    static final String SESSIONS_MAP = "ist_sessions";
    static final List<String> PINNED_MAPS = List.of(CONFIG_MAP, PEERS_MAP, COUNTS_MAP, SESSIONS_MAP);
    /** Lanes of the tunnel header: {@link #putSession} takes one floor per lane. */
    public static final int LANES = XdpMaps.LANES;

    /** How the program is attached. */
    public enum Mode {
        /** In the driver, before an skb exists ({@code XDP_FLAGS_DRV_MODE}); fails where the driver lacks XDP. */
        NATIVE,
        /** After the skb is built, on any device ({@code XDP_FLAGS_SKB_MODE}). */
        GENERIC,
        /** Native, and generic when the driver refuses native; {@link #modeReport()} says why. */
        AUTO
    }

    /** The counter slots of the program, in its order ({@code XDP_COUNT_*} in isthmus_xdp.c). */
    public enum Reason {
        /** A tunnel datagram from a known peer: passed. */
        PASSED_TUNNEL,
        /** Not for the tunnel port (other ports, protocols, later fragments): passed. */
        PASSED_OTHER,
        /** To the tunnel port from a source no {@link #allowPeer} named: dropped. */
        DROPPED_UNKNOWN_SOURCE,
        /** Shorter than the tunnel header and AEAD tag (32 bytes): dropped. */
        DROPPED_SHORT,
        /** Not a tunnel header (type, lane or reserved bytes): dropped. */
        DROPPED_BAD_HEADER,
        /** With session checks: from a known peer to a receiver index no {@link #putSession} names: dropped. */
        DROPPED_UNKNOWN_SESSION,
        /** With session checks: a counter below its session's floor for the lane (a replay): dropped. */
        DROPPED_STALE_COUNTER,
        /** With {@link Sources#PASS_ON_LIVE_SESSION}: from an unannounced source to a live session: passed. */
        PASSED_UNANNOUNCED_SOURCE
    }

    /** What the program does with a datagram to the tunnel port from a source no {@link #allowPeer} named. */
    public enum Sources {
        /** Drop it (counted {@link Reason#DROPPED_UNKNOWN_SOURCE}). */
        KNOWN_ONLY,
        /**
         * Pass it when its receiver index names a live session and its counter is not stale (a peer behind NAT or
         * one that roamed: the tunnel authenticates it), counted {@link Reason#PASSED_UNANNOUNCED_SOURCE}; drop it
         * otherwise. Needs session checks.
         */
        PASS_ON_LIVE_SESSION
    }

    /**
     * @param interfaceName the underlay interface, e.g. {@code eth0}
     * @param mode          how to attach
     * @param tunnelPort    the tunnel's UDP port (1..65535)
     * @param pinDirectory  where the maps are pinned; must lie on a bpf filesystem (or under /sys/fs/bpf, which is
     *                      mounted when nothing is)
     * @param namespace     the network namespace of the interface, or null for the calling thread's
     */
    public record Options(String interfaceName, Mode mode, int tunnelPort, Path pinDirectory, NetNamespace namespace,
                          boolean checkSessions, Sources sources) {
        public Options(String interfaceName, Mode mode, int tunnelPort, Path pinDirectory, NetNamespace namespace) {
            this(interfaceName, mode, tunnelPort, pinDirectory, namespace, false, Sources.KNOWN_ONLY);
        }

        public Options {
            if (interfaceName == null || interfaceName.isEmpty() || interfaceName.length() >= Syscalls.IFNAMSIZ
                    || interfaceName.contains("/") || interfaceName.indexOf(0) >= 0) {
                throw new InvalidArgumentException("xdp interface", interfaceName,
                        "must be an interface name of 1 to 15 characters");
            }
            Objects.requireNonNull(mode, "mode");
            if (tunnelPort < 1 || tunnelPort > 65_535) {
                throw new InvalidArgumentException("xdp tunnel port", String.valueOf(tunnelPort), "must be 1..65535");
            }
            Objects.requireNonNull(pinDirectory, "pinDirectory");
            if (!pinDirectory.isAbsolute()) {
                throw new InvalidArgumentException("xdp pin directory", pinDirectory.toString(), "must be absolute");
            }
            Objects.requireNonNull(sources, "sources");
            if (sources == Sources.PASS_ON_LIVE_SESSION && !checkSessions) {
                throw new InvalidArgumentException("xdp sources", sources.name(),
                        "needs session checks (a live session is what lets an unannounced source through)");
            }
        }

        public static Options defaults(String interfaceName, Mode mode, int tunnelPort) {
            return new Options(interfaceName, mode, tunnelPort, DEFAULT_PIN_DIRECTORY, null);
        }

        public Options withPinDirectory(Path directory) {
            return new Options(interfaceName, mode, tunnelPort, directory, namespace, checkSessions, sources);
        }

        public Options inNamespace(NetNamespace netns) {
            return new Options(interfaceName, mode, tunnelPort, pinDirectory, netns, checkSessions, sources);
        }

        /**
         * Drops datagrams to receiver indexes no {@link #putSession} named and those below a session's floor; with
         * {@code sources}, what happens to unannounced sources.
         */
        public Options withSessionChecks(Sources unannounced) {
            return new Options(interfaceName, mode, tunnelPort, pinDirectory, namespace, true, unannounced);
        }

        int configFlags() {
            return (checkSessions ? XdpMaps.CONFIG_CHECK_SESSIONS : 0)
                    | (sources == Sources.PASS_ON_LIVE_SESSION ? XdpMaps.CONFIG_PASS_UNANNOUNCED : 0);
        }
    }

    private final Options options;
    private final Arena arena;
    private final MemorySegment object;
    private final int ifindex;
    private final int attachFlags;
    private final String modeReport;
    private final List<String> cleaned;
    private final int programFd;
    private final int programId;
    private final XdpMaps maps;
    private boolean closed;

    private XdpFilter(Options options, Arena arena, MemorySegment object, XdpProgram.Loaded loaded, int ifindex,
                      int attachFlags, String modeReport, List<String> cleaned) {
        this.options = options;
        this.arena = arena;
        this.object = object;
        this.programFd = loaded.programFd();
        this.programId = loaded.programId();
        this.maps = loaded.maps();
        this.ifindex = ifindex;
        this.attachFlags = attachFlags;
        this.modeReport = modeReport;
        this.cleaned = List.copyOf(cleaned);
    }


    /**
     * Loads the program, writes the tunnel port, pins the maps and attaches to the interface. No peer is known at
     * first: every datagram to the tunnel port is dropped until {@link #allowPeer} names its source.
     *
     * @throws UnsupportedOperationException when libbpf or native access is missing (see {@link #probe()})
     * @throws SystemCallException           what the kernel refused, and what to do about it
     */
    public static XdpFilter attach(Options options) throws IOException {
        Objects.requireNonNull(options, "options");
        Libbpf.unavailable().ifPresent(why -> {
            throw new UnsupportedOperationException("XDP is not available: " + why);
        });
        List<String> cleaned = new ArrayList<>();
        XdpAttachment.ensureBpfFilesystem(options.pinDirectory());
        XdpAttachment.removeStalePins(options.pinDirectory(), cleaned);
        Arena arena = Arena.ofShared();
        MemorySegment object = MemorySegment.NULL;
        boolean attached = false;
        try {
            object = XdpProgram.open(arena);
            XdpProgram.Loaded loaded = XdpProgram.load(arena, object);
            loaded.maps().writeConfig(options.tunnelPort(), options.configFlags());
            XdpAttachment.pinMaps(arena, loaded.mapFds(), options.pinDirectory());
            MemorySegment loadedObject = object;
            XdpAttachment.Attachment attachment = inNamespace(options.namespace(), () -> {
                try (Arena call = Arena.ofConfined()) {
                    MemorySegment state = Syscalls.newCallState(call);
                    int index = Syscalls.ifNametoindex(state, call.allocateFrom(options.interfaceName()));
                    if (index == 0) {
                        throw Errno.bpfFailure(Errno.BpfSubject.ATTACH, "finding interface " + options.interfaceName()
                                + (options.namespace() == null ? "" : " in " + options.namespace()),
                                Syscalls.errno(state));
                    }
                    XdpAttachment.removeStaleProgram(call, index, options.interfaceName(), cleaned);
                    return XdpAttachment.attachProgram(call, index, loaded.programFd(), options);
                }
            });
            attached = true;
            XdpFilter filter = new XdpFilter(options, arena, loadedObject, loaded, attachment.ifindex(),
                    attachment.flags(), attachment.report(), cleaned);
            log.log(System.Logger.Level.INFO, "XDP filter on {0}: {1}, tunnel port {2}{3}{4}", options.interfaceName(),
                    attachment.report(), options.tunnelPort(), options.checkSessions() ? ", session checks, "
                            + options.sources() : "", cleaned.isEmpty() ? "" : "; cleaned up " + cleaned);
            return filter;
        } catch (IOException | RuntimeException e) {
            if (!attached) {
                XdpAttachment.unpin(options.pinDirectory());
                if (!object.equals(MemorySegment.NULL)) {
                    Libbpf.objectClose(object);
                }
                arena.close();
            }
            throw e;
        }
    }

    /** Which mode took and, for AUTO, why native did not, e.g. {@code generic (native refused: ...)}. */
    public String modeReport() {
        return modeReport;
    }

    /** {@link Mode#NATIVE} or {@link Mode#GENERIC}: the mode the program runs in. */
    public Mode attachedMode() {
        return (attachFlags & Libbpf.XDP_FLAGS_DRV_MODE) != 0 ? Mode.NATIVE : Mode.GENERIC;
    }

    /** What {@link #attach} removed that a crashed process had left: pins and a program of ours on the interface. */
    public List<String> cleanedUp() {
        return cleaned;
    }

    public Options options() {
        return options;
    }

    /** Lets datagrams from {@code peer} through to the tunnel port (it still has to look like a tunnel datagram). */
    public synchronized void allowPeer(InetAddress peer) throws IOException {
        ensureOpen();
        maps.allowPeer(peer);
    }

    /** Drops datagrams from {@code peer} again; false when it was not allowed. */
    public synchronized boolean removePeer(InetAddress peer) throws IOException {
        ensureOpen();
        return maps.removePeer(peer);
    }

    /** Whether {@code peer} is allowed, read back from the kernel's map. */
    public synchronized boolean allows(InetAddress peer) throws IOException {
        ensureOpen();
        return maps.allows(peer);
    }

    /**
     * Makes the known peers exactly {@code peers}, in two batched bpf(2) calls at most: the new ones are added
     * first, then those no longer wanted removed, so a peer in both the old and the new set is never missing.
     */
    public synchronized void replacePeers(Set<InetAddress> peers) throws IOException {
        ensureOpen();
        maps.replacePeers(peers);
    }

    /** The peers the kernel's map holds now. */
    public synchronized Set<InetAddress> peers() throws IOException {
        ensureOpen();
        return maps.peers();
    }

    /**
     * Names a live session (its receiver index as the tunnel header carries it) with, per lane, the lowest counter
     * its replay window still accepts; all zeros accept every counter. Only read with session checks on.
     *
     * @param onlyIfPresent update a session already named, never add one (false comes back when it is not there):
     *                      a periodic floor update then cannot bring back a session removed meanwhile
     */
    public synchronized boolean putSession(int receiverIndex, long[] floors, boolean onlyIfPresent) throws IOException {
        ensureOpen();
        return maps.putSession(receiverIndex, floors, onlyIfPresent);
    }

    /** The session ended: datagrams to its index are dropped again; false when it was not named. */
    public synchronized boolean removeSession(int receiverIndex) throws IOException {
        ensureOpen();
        return maps.removeSession(receiverIndex);
    }

    /** Receiver index → floors per lane, read back from the kernel's map. */
    public synchronized Map<Integer, long[]> sessions() throws IOException {
        ensureOpen();
        return maps.sessions();
    }

    /** Packets per reason since the program was loaded, summed over every CPU. */
    public synchronized Map<Reason, Long> counters() throws IOException {
        ensureOpen();
        return maps.counters();
    }

    /** Detaches the program, unpins the maps and unloads the object. Idempotent. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        IOException failure = null;
        try {
            inNamespace(options.namespace(), () -> {
                try (Arena call = Arena.ofConfined()) {
                    MemorySegment query = call.allocate(Libbpf.XDP_QUERY_OPTS_BYTES, 8);
                    int errno = Libbpf.xdpQuery(ifindex, query);
                    if (errno == Errno.ENODEV) { // the interface is gone, and our program with it
                        return null;
                    }
                    XdpAttachment.check(errno, "querying XDP on " + options.interfaceName());
                    int attached = query.get(JAVA_INT, attachedMode() == Mode.NATIVE ? Libbpf.XDP_QUERY_DRV_PROG_ID
                            : Libbpf.XDP_QUERY_SKB_PROG_ID);
                    if (attached != programId) { // a newer filter took over (and cleaned us up): leave it
                        log.log(System.Logger.Level.INFO, "XDP program on {0} is no longer ours (id {1}, ours {2});"
                                + " left it attached", options.interfaceName(), attached, programId);
                        return null;
                    }
                    // Only if still ours: a filter taking over between query and detach makes this EEXIST.
                    errno = Libbpf.xdpDetach(ifindex, attachFlags & ~Libbpf.XDP_FLAGS_UPDATE_IF_NOEXIST, programFd);
                    if (errno != 0 && errno != Errno.EEXIST && errno != Errno.ENODEV) {
                        throw Errno.bpfFailure(Errno.BpfSubject.ATTACH, "detaching XDP from "
                                + options.interfaceName(), errno);
                    }
                    return null;
                }
            });
        } catch (IOException e) {
            failure = e;
        }
        XdpAttachment.unpin(options.pinDirectory());
        Libbpf.objectClose(object);
        arena.close();
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Whether XDP can be used here: libbpf present, a bpf filesystem at (or mountable on) /sys/fs/bpf, and the kernel
     * loading the program (which needs root or CAP_BPF). Loads and unloads the program; attaches nothing.
     */
    public static Availability probe() {
        var missing = Libbpf.unavailable();
        if (missing.isPresent()) {
            return Availability.no(missing.get());
        }
        String bpffs;
        try {
            bpffs = XdpAttachment.onBpfFilesystem(BPF_MOUNT_POINT) ? "bpffs at " + BPF_MOUNT_POINT
                    : "bpffs not mounted at " + BPF_MOUNT_POINT + " (attach mounts it)";
        } catch (IOException e) {
            return Availability.no("cannot read /proc/self/mounts: " + e.getMessage());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment object = XdpProgram.open(arena);
            try {
                XdpProgram.load(arena, object);
            } finally {
                Libbpf.objectClose(object);
            }
            return Availability.yes(Libbpf.version() + ", the kernel loads the XDP program; " + bpffs);
        } catch (IOException | RuntimeException e) {
            return Availability.no(e.getMessage());
        }
    }

    private static <T> T inNamespace(NetNamespace namespace, Callable<T> task) throws IOException {
        try {
            return namespace == null ? task.call() : namespace.call(task);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("XDP filter on " + options.interfaceName() + " is closed");
        }
    }
}
