package io.isthmus.fastpath;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The maps of one loaded {@code isthmus_xdp.o}, read and written through bpf(2): the config, the known peers, the
 * live sessions with their counter floors, the per-CPU counters. Layouts are those of isthmus_xdp.c. Not
 * thread-safe: {@link XdpFilter} calls it under its lock.
 */
final class XdpMaps {
    static final int PEER_KEY_BYTES = 20;
    /** {@code struct session_floor}: one u64 per lane. */
    static final int LANES = 16;
    private static final long SESSION_VALUE_BYTES = 8L * LANES;
    private static final java.lang.foreign.ValueLayout.OfInt WIRE_INDEX = JAVA_INT_UNALIGNED.withOrder(
            ByteOrder.BIG_ENDIAN);
    static final int CONFIG_CHECK_SESSIONS = 1;
    static final int CONFIG_PASS_UNANNOUNCED = 2;

    private final int configFd;
    private final int peersFd;
    private final int countsFd;
    private final int sessionsFd;
    private final int cpus;

    XdpMaps(int configFd, int peersFd, int countsFd, int sessionsFd, int cpus) {
        this.configFd = configFd;
        this.peersFd = peersFd;
        this.countsFd = countsFd;
        this.sessionsFd = sessionsFd;
        this.cpus = cpus;
    }

    /** {@code struct xdp_config}: the port in host order, padding, then the CONFIG_* flags. */
    void writeConfig(int port, int flags) throws SystemCallException {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment key = call.allocate(JAVA_INT);
            MemorySegment value = call.allocate(8, 4);
            value.set(JAVA_SHORT, 0, (short) port);
            value.set(JAVA_INT, 4, flags);
            XdpAttachment.check(Libbpf.mapUpdate(configFd, key, value, Libbpf.BPF_ANY),
                    "writing the tunnel port to " + XdpFilter.CONFIG_MAP);
        }
    }

    void allowPeer(InetAddress peer) throws SystemCallException {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment value = call.allocate(1);
            value.set(JAVA_BYTE, 0, (byte) 1);
            int errno = Libbpf.mapUpdate(peersFd, peerKey(call, peer), value, Libbpf.BPF_ANY);
            if (errno != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.MAP, "allowing peer " + peer.getHostAddress(), errno);
            }
        }
    }

    boolean removePeer(InetAddress peer) throws SystemCallException {
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

    boolean allows(InetAddress peer) throws SystemCallException {
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

    /** New peers first, then the ones no longer wanted: a peer in both sets is never missing. */
    void replacePeers(Set<InetAddress> peers) throws IOException {
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

    Set<InetAddress> peers() throws IOException {
        Set<InetAddress> peers = new HashSet<>();
        for (MemorySegment key : keys(peersFd, PEER_KEY_BYTES, "listing peers")) {
            byte[] address = key.asSlice(4, key.get(JAVA_BYTE, 0) == 4 ? 4 : 16).toArray(JAVA_BYTE);
            peers.add(InetAddress.getByAddress(address));
        }
        return peers;
    }

    /**
     * Writes a session's floors: per lane the lowest counter still accepted. {@code onlyIfPresent}: a session
     * removed meanwhile stays removed (BPF_EXIST), and false comes back.
     */
    boolean putSession(int receiverIndex, long[] floors, boolean onlyIfPresent) throws SystemCallException {
        if (floors.length != LANES) {
            throw new InvalidArgumentException("xdp session floors", String.valueOf(floors.length),
                    "must hold one counter per lane (" + LANES + ")");
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment key = call.allocate(4, 4);
            key.set(WIRE_INDEX, 0, receiverIndex);
            MemorySegment value = call.allocate(SESSION_VALUE_BYTES, 8);
            MemorySegment.copy(floors, 0, value, JAVA_LONG, 0, LANES);
            int errno = Libbpf.mapUpdate(sessionsFd, key, value, onlyIfPresent ? Libbpf.BPF_EXIST : Libbpf.BPF_ANY);
            if (errno == Errno.ENOENT && onlyIfPresent) {
                return false;
            }
            if (errno != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.MAP, "writing session " + Integer.toUnsignedString(
                        receiverIndex), errno);
            }
            return true;
        }
    }

    boolean removeSession(int receiverIndex) throws SystemCallException {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment key = call.allocate(4, 4);
            key.set(WIRE_INDEX, 0, receiverIndex);
            int errno = Libbpf.mapDelete(sessionsFd, key);
            if (errno == Errno.ENOENT) {
                return false;
            }
            if (errno != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.MAP, "removing session " + Integer.toUnsignedString(
                        receiverIndex), errno);
            }
            return true;
        }
    }

    /** Receiver index → floors per lane, as the kernel's map holds them now. */
    Map<Integer, long[]> sessions() throws SystemCallException {
        Map<Integer, long[]> sessions = new HashMap<>();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment value = call.allocate(SESSION_VALUE_BYTES, 8);
            MemorySegment key = call.allocate(4, 4);
            for (MemorySegment listed : keys(sessionsFd, 4, "listing sessions")) {
                key.copyFrom(listed);
                int errno = Libbpf.mapLookup(sessionsFd, key, value);
                if (errno == Errno.ENOENT) {
                    continue; // removed between listing and reading
                }
                XdpAttachment.check(errno, "reading a session");
                sessions.put(key.get(WIRE_INDEX, 0), value.toArray(JAVA_LONG));
            }
        }
        return sessions;
    }

    /** Packets per reason, summed over every CPU. */
    Map<XdpFilter.Reason, Long> counters() throws SystemCallException {
        Map<XdpFilter.Reason, Long> counts = new EnumMap<>(XdpFilter.Reason.class);
        try (Arena call = Arena.ofConfined()) {
            MemorySegment key = call.allocate(JAVA_INT);
            MemorySegment perCpu = call.allocate(8L * cpus, 8);
            for (XdpFilter.Reason reason : XdpFilter.Reason.values()) {
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

    /** Every key of a hash map, each copied to the heap (native calls need a native copy again). */
    private static List<MemorySegment> keys(int fd, int keyBytes, String what) throws SystemCallException {
        List<MemorySegment> keys = new java.util.ArrayList<>();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment key = MemorySegment.NULL;
            MemorySegment next = call.allocate(keyBytes, 4);
            while (true) {
                int errno = Libbpf.mapNextKey(fd, key, next);
                if (errno == Errno.ENOENT) {
                    return keys;
                }
                if (errno != 0) {
                    throw Errno.bpfFailure(Errno.BpfSubject.MAP, what, errno);
                }
                keys.add(MemorySegment.ofArray(next.toArray(JAVA_BYTE)));
                if (key.equals(MemorySegment.NULL)) {
                    key = call.allocate(keyBytes, 4);
                }
                key.copyFrom(next);
            }
        }
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
}
