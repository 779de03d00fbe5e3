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
    private static final List<String> PINNED_MAPS = List.of(CONFIG_MAP, PEERS_MAP, COUNTS_MAP);
    private static final String OBJECT_RESOURCE = "isthmus_xdp.o";
    private static final int PEER_KEY_BYTES = 20;

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
        DROPPED_BAD_HEADER
    }

    /**
     * @param interfaceName the underlay interface, e.g. {@code eth0}
     * @param mode          how to attach
     * @param tunnelPort    the tunnel's UDP port (1..65535)
     * @param pinDirectory  where the maps are pinned; must lie on a bpf filesystem (or under /sys/fs/bpf, which is
     *                      mounted when nothing is)
     * @param namespace     the network namespace of the interface, or null for the calling thread's
     */
    public record Options(String interfaceName, Mode mode, int tunnelPort, Path pinDirectory, NetNamespace namespace) {
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
        }

        public static Options defaults(String interfaceName, Mode mode, int tunnelPort) {
            return new Options(interfaceName, mode, tunnelPort, DEFAULT_PIN_DIRECTORY, null);
        }

        public Options withPinDirectory(Path directory) {
            return new Options(interfaceName, mode, tunnelPort, directory, namespace);
        }

        public Options inNamespace(NetNamespace netns) {
            return new Options(interfaceName, mode, tunnelPort, pinDirectory, netns);
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
    private final int configFd;
    private final int peersFd;
    private final int countsFd;
    private final int cpus;
    private boolean closed;

    private XdpFilter(Options options, Arena arena, MemorySegment object, Loaded loaded, int ifindex,
                      int attachFlags, String modeReport, List<String> cleaned) {
        this.options = options;
        this.arena = arena;
        this.object = object;
        this.programFd = loaded.programFd;
        this.programId = loaded.programId;
        this.configFd = loaded.configFd;
        this.peersFd = loaded.peersFd;
        this.countsFd = loaded.countsFd;
        this.cpus = loaded.cpus;
        this.ifindex = ifindex;
        this.attachFlags = attachFlags;
        this.modeReport = modeReport;
        this.cleaned = List.copyOf(cleaned);
    }

    private record Loaded(int programFd, int programId, int configFd, int peersFd, int countsFd, int cpus) {
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
        ensureBpfFilesystem(options.pinDirectory());
        removeStalePins(options.pinDirectory(), cleaned);
        Arena arena = Arena.ofShared();
        MemorySegment object = MemorySegment.NULL;
        boolean attached = false;
        try {
            object = open(arena);
            Loaded loaded = load(arena, object);
            writeConfig(arena, loaded.configFd, options.tunnelPort());
            pinMaps(arena, object, options.pinDirectory());
            MemorySegment loadedObject = object;
            Attachment attachment = inNamespace(options.namespace(), () -> {
                try (Arena call = Arena.ofConfined()) {
                    MemorySegment state = Syscalls.newCallState(call);
                    int index = Syscalls.ifNametoindex(state, call.allocateFrom(options.interfaceName()));
                    if (index == 0) {
                        throw Errno.bpfFailure(Errno.BpfSubject.ATTACH, "finding interface " + options.interfaceName()
                                + (options.namespace() == null ? "" : " in " + options.namespace()),
                                Syscalls.errno(state));
                    }
                    removeStaleProgram(call, index, options.interfaceName(), cleaned);
                    return attachProgram(call, index, loaded.programFd, options);
                }
            });
            attached = true;
            XdpFilter filter = new XdpFilter(options, arena, loadedObject, loaded, attachment.ifindex,
                    attachment.flags, attachment.report, cleaned);
            log.log(System.Logger.Level.INFO, "XDP filter on {0}: {1}, tunnel port {2}{3}", options.interfaceName(),
                    attachment.report, options.tunnelPort(), cleaned.isEmpty() ? "" : "; cleaned up " + cleaned);
            return filter;
        } catch (IOException | RuntimeException e) {
            if (!attached) {
                unpin(options.pinDirectory());
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
        try (Arena call = Arena.ofConfined()) {
            MemorySegment value = call.allocate(1);
            value.set(JAVA_BYTE, 0, (byte) 1);
            int errno = Libbpf.mapUpdate(peersFd, peerKey(call, peer), value, Libbpf.BPF_ANY);
            if (errno != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.MAP, "allowing peer " + peer.getHostAddress(), errno);
            }
        }
    }

    /** Drops datagrams from {@code peer} again; false when it was not allowed. */
    public synchronized boolean removePeer(InetAddress peer) throws IOException {
        ensureOpen();
        try (Arena call = Arena.ofConfined()) {
            int errno = Libbpf.mapDelete(peersFd, peerKey(call, peer));
            if (errno == Errno.ENOENT) {
                return false;
            }
            if (errno != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.MAP, "removing peer " + peer.getHostAddress(), errno);
            }
            return true;
        }
    }

    /** Whether {@code peer} is allowed, read back from the kernel's map. */
    public synchronized boolean allows(InetAddress peer) throws IOException {
        ensureOpen();
        try (Arena call = Arena.ofConfined()) {
            int errno = Libbpf.mapLookup(peersFd, peerKey(call, peer), call.allocate(1));
            if (errno == Errno.ENOENT) {
                return false;
            }
            if (errno != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.MAP, "looking up peer " + peer.getHostAddress(), errno);
            }
            return true;
        }
    }

    /**
     * Makes the known peers exactly {@code peers}, in two batched bpf(2) calls at most: the new ones are added
     * first, then those no longer wanted removed, so a peer in both the old and the new set is never missing.
     */
    public synchronized void replacePeers(Set<InetAddress> peers) throws IOException {
        ensureOpen();
        Objects.requireNonNull(peers, "peers");
        Set<InetAddress> current = peers();
        List<InetAddress> added = peers.stream().filter(peer -> !current.contains(peer)).toList();
        List<InetAddress> removed = current.stream().filter(peer -> !peers.contains(peer)).toList();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment count = call.allocate(JAVA_INT);
            if (!added.isEmpty()) {
                MemorySegment keys = peerKeys(call, added);
                MemorySegment values = call.allocate(added.size());
                values.fill((byte) 1);
                count.set(JAVA_INT, 0, added.size());
                int errno = Libbpf.mapUpdateBatch(peersFd, keys, values, count);
                if (errno != 0) {
                    throw Errno.bpfFailure(Errno.BpfSubject.MAP, "adding " + added.size() + " peers (" + count.get(
                            JAVA_INT, 0) + " written)", errno);
                }
            }
            if (!removed.isEmpty()) {
                count.set(JAVA_INT, 0, removed.size());
                int errno = Libbpf.mapDeleteBatch(peersFd, peerKeys(call, removed), count);
                if (errno != 0) {
                    throw Errno.bpfFailure(Errno.BpfSubject.MAP, "removing " + removed.size() + " peers ("
                            + count.get(JAVA_INT, 0) + " removed)", errno);
                }
            }
        }
    }

    /** The peers the kernel's map holds now. */
    public synchronized Set<InetAddress> peers() throws IOException {
        ensureOpen();
        Set<InetAddress> peers = new HashSet<>();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment key = MemorySegment.NULL;
            MemorySegment next = call.allocate(PEER_KEY_BYTES);
            while (true) {
                int errno = Libbpf.mapNextKey(peersFd, key, next);
                if (errno == Errno.ENOENT) {
                    return peers;
                }
                if (errno != 0) {
                    throw Errno.bpfFailure(Errno.BpfSubject.MAP, "listing peers", errno);
                }
                byte[] address = next.asSlice(4, next.get(JAVA_BYTE, 0) == 4 ? 4 : 16).toArray(JAVA_BYTE);
                peers.add(InetAddress.getByAddress(address));
                if (key.equals(MemorySegment.NULL)) {
                    key = call.allocate(PEER_KEY_BYTES);
                }
                key.copyFrom(next);
            }
        }
    }

    /** Packets per reason since the program was loaded, summed over every CPU. */
    public synchronized Map<Reason, Long> counters() throws IOException {
        ensureOpen();
        Map<Reason, Long> counts = new EnumMap<>(Reason.class);
        try (Arena call = Arena.ofConfined()) {
            MemorySegment key = call.allocate(JAVA_INT);
            MemorySegment perCpu = call.allocate(8L * cpus, 8);
            for (Reason reason : Reason.values()) {
                key.set(JAVA_INT, 0, reason.ordinal());
                int errno = Libbpf.mapLookup(countsFd, key, perCpu);
                if (errno != 0) {
                    throw Errno.bpfFailure(Errno.BpfSubject.MAP, "reading counter " + reason, errno);
                }
                long sum = 0;
                for (int cpu = 0; cpu < cpus; cpu++) {
                    sum += perCpu.getAtIndex(JAVA_LONG, cpu);
                }
                counts.put(reason, sum);
            }
        }
        return Collections.unmodifiableMap(counts);
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
                    check(errno, "querying XDP on " + options.interfaceName());
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
        unpin(options.pinDirectory());
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
            bpffs = onBpfFilesystem(BPF_MOUNT_POINT) ? "bpffs at " + BPF_MOUNT_POINT
                    : "bpffs not mounted at " + BPF_MOUNT_POINT + " (attach mounts it)";
        } catch (IOException e) {
            return Availability.no("cannot read /proc/self/mounts: " + e.getMessage());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment object = open(arena);
            try {
                load(arena, object);
            } finally {
                Libbpf.objectClose(object);
            }
            return Availability.yes(Libbpf.version() + ", the kernel loads the XDP program; " + bpffs);
        } catch (IOException | RuntimeException e) {
            return Availability.no(e.getMessage());
        }
    }

    private record Attachment(int ifindex, int flags, String report) {
    }

    private static Attachment attachProgram(Arena call, int ifindex, int programFd, Options options)
            throws SystemCallException {
        int nativeFlags = Libbpf.XDP_FLAGS_DRV_MODE | Libbpf.XDP_FLAGS_UPDATE_IF_NOEXIST;
        int genericFlags = Libbpf.XDP_FLAGS_SKB_MODE | Libbpf.XDP_FLAGS_UPDATE_IF_NOEXIST;
        String what = "attaching XDP to " + options.interfaceName();
        String report;
        int flags;
        switch (options.mode()) {
            case NATIVE -> {
                check(Libbpf.xdpAttach(ifindex, programFd, nativeFlags), what + " in native mode");
                flags = nativeFlags;
                report = "native";
            }
            case GENERIC -> {
                check(Libbpf.xdpAttach(ifindex, programFd, genericFlags), what + " in generic mode");
                flags = genericFlags;
                report = "generic";
            }
            case AUTO -> {
                int errno = Libbpf.xdpAttach(ifindex, programFd, nativeFlags);
                if (errno == 0) {
                    flags = nativeFlags;
                    report = "native";
                } else if (errno == Errno.EEXIST || errno == Errno.EBUSY || errno == Errno.EPERM) {
                    throw Errno.bpfFailure(Errno.BpfSubject.ATTACH, what + " in native mode", errno);
                } else {
                    check(Libbpf.xdpAttach(ifindex, programFd, genericFlags), what + " in generic mode");
                    flags = genericFlags;
                    report = "generic (native refused: "
                            + Errno.bpfFailure(Errno.BpfSubject.ATTACH, what + " in native mode", errno).getMessage()
                            + ")";
                }
            }
            default -> throw new AssertionError(options.mode());
        }
        MemorySegment query = call.allocate(Libbpf.XDP_QUERY_OPTS_BYTES, 8);
        int errno = Libbpf.xdpQuery(ifindex, query);
        int mode = query.get(JAVA_BYTE, Libbpf.XDP_QUERY_ATTACH_MODE);
        int expected = (flags & Libbpf.XDP_FLAGS_DRV_MODE) != 0 ? Libbpf.XDP_ATTACHED_DRV : Libbpf.XDP_ATTACHED_SKB;
        if (errno != 0 || (mode != expected && mode != Libbpf.XDP_ATTACHED_MULTI)) {
            // Attached but not as asked (or not verifiable): take it off again, so a failed attach leaves nothing.
            Libbpf.xdpDetach(ifindex, flags & ~Libbpf.XDP_FLAGS_UPDATE_IF_NOEXIST, programFd);
            if (errno != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.ATTACH, "querying XDP on " + options.interfaceName(), errno);
            }
            throw new SystemCallException(what + ": the kernel reports attach mode " + mode + " rather than "
                    + expected + " after attaching", Errno.EINVAL);
        }
        return new Attachment(ifindex, flags, report);
    }

    /** Detaches a program named {@link #PROGRAM} in either mode: what a crashed process of ours left attached. */
    private static void removeStaleProgram(Arena call, int ifindex, String interfaceName, List<String> cleaned)
            throws SystemCallException {
        MemorySegment query = call.allocate(Libbpf.XDP_QUERY_OPTS_BYTES, 8);
        check(Libbpf.xdpQuery(ifindex, query), "querying XDP on " + interfaceName);
        for (boolean nativeMode : new boolean[] {true, false}) {
            int id = query.get(JAVA_INT, nativeMode ? Libbpf.XDP_QUERY_DRV_PROG_ID : Libbpf.XDP_QUERY_SKB_PROG_ID);
            if (id != 0 && PROGRAM.equals(programName(call, id))) {
                int flags = nativeMode ? Libbpf.XDP_FLAGS_DRV_MODE : Libbpf.XDP_FLAGS_SKB_MODE;
                check(Libbpf.xdpDetach(ifindex, flags, -1), "detaching a stale " + PROGRAM + " from " + interfaceName);
                cleaned.add((nativeMode ? "native" : "generic") + " XDP program id " + id + " on " + interfaceName);
            }
        }
    }

    /** The name of loaded program {@code id}, or null when it is gone already. */
    private static String programName(Arena call, int id) throws SystemCallException {
        int fd = Libbpf.programFdById(id);
        if (fd == -Errno.ENOENT) {
            return null;
        }
        if (fd < 0) {
            throw Errno.bpfFailure(Errno.BpfSubject.LOAD, "opening XDP program id " + id, -fd);
        }
        try {
            MemorySegment info = call.allocate(Libbpf.PROG_INFO_BYTES, 8);
            MemorySegment length = call.allocate(JAVA_INT);
            check(Libbpf.objInfo(fd, info, length), "reading XDP program id " + id);
            byte[] name = info.asSlice(Libbpf.PROG_INFO_NAME, Libbpf.BPF_OBJ_NAME_LEN).toArray(JAVA_BYTE);
            int end = 0;
            while (end < name.length && name[end] != 0) {
                end++;
            }
            return new String(name, 0, end, StandardCharsets.US_ASCII);
        } finally {
            Syscalls.close(fd);
        }
    }

    private static MemorySegment open(Arena arena) throws SystemCallException {
        byte[] elf;
        try (InputStream in = XdpFilter.class.getResourceAsStream(OBJECT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the fastpath jar lacks " + OBJECT_RESOURCE
                        + ": it was built without clang (apt-get install clang libbpf-dev, then rebuild)");
            }
            elf = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + OBJECT_RESOURCE + " from the fastpath jar", e);
        }
        // libbpf keeps reading the buffer until the object is closed, so it lives in the filter's arena.
        MemorySegment buffer = arena.allocate(elf.length, 8);
        MemorySegment.copy(elf, 0, buffer, JAVA_BYTE, 0, elf.length);
        MemorySegment state = Syscalls.newCallState(arena);
        MemorySegment object = Libbpf.objectOpenMem(state, buffer);
        if (object.equals(MemorySegment.NULL)) {
            throw Errno.bpfFailure(Errno.BpfSubject.LOAD, "opening " + OBJECT_RESOURCE, Syscalls.errno(state));
        }
        return object;
    }

    private static Loaded load(Arena arena, MemorySegment object) throws SystemCallException {
        check(Libbpf.objectLoad(object), "loading " + OBJECT_RESOURCE + " into the kernel");
        MemorySegment state = Syscalls.newCallState(arena);
        int program = Libbpf.programFd(state, object, arena.allocateFrom(PROGRAM));
        if (program < 0) {
            throw Errno.bpfFailure(Errno.BpfSubject.LOAD, "finding program " + PROGRAM, -program);
        }
        int cpus = Libbpf.numPossibleCpus();
        if (cpus <= 0) {
            throw Errno.bpfFailure(Errno.BpfSubject.MAP, "counting possible CPUs", -cpus);
        }
        MemorySegment info = arena.allocate(Libbpf.PROG_INFO_BYTES, 8);
        check(Libbpf.objInfo(program, info, arena.allocate(JAVA_INT)), "reading the id of " + PROGRAM,
                Errno.BpfSubject.LOAD);
        return new Loaded(program, info.get(JAVA_INT, Libbpf.PROG_INFO_ID), mapFd(arena, object, CONFIG_MAP), mapFd(arena, object, PEERS_MAP),
                mapFd(arena, object, COUNTS_MAP), cpus);
    }

    private static int mapFd(Arena arena, MemorySegment object, String name) throws SystemCallException {
        int fd = Libbpf.mapFd(Syscalls.newCallState(arena), object, arena.allocateFrom(name));
        if (fd < 0) {
            throw Errno.bpfFailure(Errno.BpfSubject.MAP, "finding map " + name, -fd);
        }
        return fd;
    }

    /** {@code struct xdp_config}: the port in host order, then padding and flags, all zero. */
    private static void writeConfig(Arena arena, int configFd, int port) throws SystemCallException {
        MemorySegment key = arena.allocate(JAVA_INT);
        MemorySegment value = arena.allocate(8, 4);
        value.set(JAVA_SHORT, 0, (short) port);
        check(Libbpf.mapUpdate(configFd, key, value, Libbpf.BPF_ANY), "writing the tunnel port to " + CONFIG_MAP);
    }

    /** {@code struct peer_key}: family 4 or 6, three zero bytes, the address (IPv4 in the first four, rest zero). */
    private static MemorySegment peerKey(Arena call, InetAddress peer) {
        Objects.requireNonNull(peer, "peer");
        MemorySegment key = call.allocate(PEER_KEY_BYTES);
        byte[] address = peer.getAddress();
        key.set(JAVA_BYTE, 0, (byte) (peer instanceof Inet4Address ? 4 : 6));
        MemorySegment.copy(address, 0, key, JAVA_BYTE, 4, address.length);
        return key;
    }

    private static MemorySegment peerKeys(Arena call, List<InetAddress> peers) {
        MemorySegment keys = call.allocate((long) PEER_KEY_BYTES * peers.size());
        for (int i = 0; i < peers.size(); i++) {
            keys.asSlice((long) PEER_KEY_BYTES * i, PEER_KEY_BYTES).copyFrom(peerKey(call, peers.get(i)));
        }
        return keys;
    }

    private static void pinMaps(Arena arena, MemorySegment object, Path directory) throws IOException {
        Files.createDirectories(directory);
        for (String name : PINNED_MAPS) {
            Path path = directory.resolve(name);
            check(Libbpf.objPin(mapFd(arena, object, name), arena.allocateFrom(path.toString())), "pinning " + path,
                    Errno.BpfSubject.PIN);
        }
    }

    /** Removes the pinned files of a process that did not close its filter; the directory is ours alone. */
    private static void removeStalePins(Path directory, List<String> cleaned) throws IOException {
        if (!Files.isDirectory(directory)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                Files.deleteIfExists(entry);
                cleaned.add("pin " + entry);
            }
        }
    }

    private static void unpin(Path directory) {
        for (String name : PINNED_MAPS) {
            try {
                Files.deleteIfExists(directory.resolve(name));
            } catch (IOException e) {
                log.log(System.Logger.Level.WARNING, "could not unpin " + directory.resolve(name) + ": " + e);
            }
        }
        try {
            Files.deleteIfExists(directory);
        } catch (IOException e) { // not empty (someone else's file) or already gone: leave it
            log.log(System.Logger.Level.DEBUG, "left " + directory + ": " + e);
        }
    }

    /** Makes sure {@code pinDirectory} lies on a bpf filesystem, mounting one on /sys/fs/bpf when that is where. */
    static void ensureBpfFilesystem(Path pinDirectory) throws IOException {
        if (onBpfFilesystem(pinDirectory)) {
            return;
        }
        if (!pinDirectory.startsWith(BPF_MOUNT_POINT) || !Files.isDirectory(BPF_MOUNT_POINT)) {
            throw new SystemCallException("pin directory " + pinDirectory + " is not on a bpf filesystem: mount one"
                    + " (mount -t bpf bpf " + BPF_MOUNT_POINT + ") or choose a directory under one", Errno.EINVAL);
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newCallState(call);
            MemorySegment bpf = call.allocateFrom("bpf");
            if (Syscalls.mount(state, bpf, call.allocateFrom(BPF_MOUNT_POINT.toString()), bpf, 0,
                    call.allocateFrom("mode=0700")) != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.PIN, "mounting a bpf filesystem on " + BPF_MOUNT_POINT
                        + " (mount -t bpf bpf " + BPF_MOUNT_POINT + ")", Syscalls.errno(state));
            }
        }
        log.log(System.Logger.Level.INFO, "mounted a bpf filesystem on {0}", BPF_MOUNT_POINT);
    }

    /** Whether the longest mount point covering {@code path} in /proc/self/mounts is of type bpf. */
    static boolean onBpfFilesystem(Path path) throws IOException {
        String bestType = null;
        int bestLength = -1;
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/mounts"));
        } catch (NoSuchFileException e) {
            return false;
        }
        for (String line : lines) {
            String[] fields = line.split(" ");
            if (fields.length < 3) {
                continue;
            }
            Path mountPoint = Path.of(fields[1].replace("\\040", " "));
            if (path.startsWith(mountPoint) && mountPoint.getNameCount() >= bestLength) {
                bestLength = mountPoint.getNameCount();
                bestType = fields[2];
            }
        }
        return "bpf".equals(bestType);
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

    private static void check(int errno, String what) throws SystemCallException {
        check(errno, what, what.startsWith("attaching") || what.startsWith("detaching") || what.startsWith("querying")
                ? Errno.BpfSubject.ATTACH : what.startsWith("loading") ? Errno.BpfSubject.LOAD : Errno.BpfSubject.MAP);
    }

    private static void check(int errno, String what, Errno.BpfSubject subject) throws SystemCallException {
        if (errno != 0) {
            throw Errno.bpfFailure(subject, what, errno);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("XDP filter on " + options.interfaceName() + " is closed");
        }
    }
}
