package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.fastpath.BatchedUdpSocket;
import io.isthmus.fastpath.DatagramBatch;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The data plane of one gateway: packets from the local {@link PacketQueue}s are routed by destination to a peer,
 * sealed with that peer's current session and sent over UDP; datagrams from peers are opened, checked (replay
 * window, inner source within the sending peer's ranges) and written to the local side.
 *
 * <p>Per queue {@code k} there are two platform threads: {@code out-k} reads queue {@code k}, seals and sends a
 * batch with {@code sendmmsg} from its own UDP socket (its own source port, so the receiving kernel's
 * {@code SO_REUSEPORT} hash keeps each sender queue on one receiver thread); {@code in-k} receives a batch with
 * {@code recvmmsg} on socket {@code k} of the listening {@code SO_REUSEPORT} group, opens each datagram and writes
 * it to queue {@code k} when its destination is one of this cluster's ({@link #deliverTo}; none until told). A flow stays on one queue (the device hashes flows to queues), hence on one thread each
 * way, so its packets keep their order. Buffers and ciphers belong to their thread and are made once.
 *
 * <p>Sockets are opened by {@link #start} on the calling thread, so a caller inside a network namespace gets them
 * in that namespace; threads come from the given {@link ThreadStarter} (e.g. {@code NetNamespace::startThread}).
 */
public final class TunnelEngine implements AutoCloseable {
    private static final System.Logger log = System.getLogger(TunnelEngine.class.getName());
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final Duration RECEIVE_POLL = Duration.ofMillis(100);
    /** Receive slot and send area per message with UDP offload: one run of up to 64 KiB. */
    private static final int RUN_SLOT = 65_535;

    /**
     * @param listen    where peers send to (IPv4 or IPv6; the wildcard {@code [::]} takes both)
     * @param mtu       the largest inner packet (the TUN device's MTU); larger ones are dropped as oversized
     * @param batchSize datagrams per {@code recvmmsg}/{@code sendmmsg}
     * @param grace     how long a replaced session still opens packets
     * @param socketBuffer SO_RCVBUF/SO_SNDBUF to ask for (the kernel caps it at rmem_max/wmem_max)
     * @param translation  this cluster's real ↔ global networks, where its ranges overlap another cluster's
     * @param udpOffload   send the sealed segments of a TCP burst as runs with UDP_SEGMENT and receive runs joined
     *                     by UDP_GRO (one trip through the kernel's UDP path per run, not per packet); where the
     *                     kernel lacks it, the engine says so and sends one datagram per packet ({@link #udpPath()})
     */
    public record Config(InetSocketAddress listen, int mtu, int batchSize, Duration grace, int socketBuffer,
                         Translation translation, boolean udpOffload) {
        public Config {
            if (mtu < 576 || mtu > 65_535 - WireFormat.OVERHEAD - 48) {
                throw new InvalidFieldException("tunnel.mtu", mtu, "must be 576..65000");
            }
            if (batchSize < 1 || batchSize > 1024) {
                throw new InvalidFieldException("tunnel.batch-size", batchSize, "must be 1..1024");
            }
        }

        public static Config defaults(InetSocketAddress listen) {
            return new Config(listen, 1420, 32, RekeyPolicy.defaults().grace(), 4 << 20, Translation.none(), true);
        }

        public Config withTranslation(Translation translation) {
            return new Config(listen, mtu, batchSize, grace, socketBuffer, translation, udpOffload);
        }

        public Config withUdpOffload(boolean udpOffload) {
            return new Config(listen, mtu, batchSize, grace, socketBuffer, translation, udpOffload);
        }

        int datagramLimit() {
            return mtu + WireFormat.OVERHEAD;
        }
    }

    private record Routing(Map<ClusterId, TunnelPeer> peers, CidrTable<TunnelPeer> table) {
    }

    private final Config config;
    private volatile Translation translation; // replaced by translate(); the loops read it once per packet
    private volatile LocalDestinations destinations = LocalDestinations.NONE; // replaced by deliverTo()
    private volatile PacketPolicy policy = PacketPolicy.ALLOW_ALL; // replaced by usePolicy()
    private final InstantSource clock;
    private final List<? extends PacketQueue> queues;
    private final List<BatchedUdpSocket> receivers;
    private final List<BatchedUdpSocket> senders;
    private final String udpPath;
    private final DropCounters unattributed = new DropCounters();
    private final List<Thread> inboundThreads = new ArrayList<>();
    private final List<Thread> outboundThreads = new ArrayList<>();
    private final PacketCipher controlCipher = new PacketCipher();
    private volatile Routing routing = new Routing(Map.of(), CidrTable.empty());
    private volatile IndexTable indexes = IndexTable.EMPTY;
    private UnderlayFilter underlay = UnderlayFilter.none("none"); // under this engine's lock
    private volatile boolean running = true;

    private TunnelEngine(Config config, InstantSource clock, List<? extends PacketQueue> queues,
                         List<BatchedUdpSocket> receivers, List<BatchedUdpSocket> senders, String udpPath) {
        this.config = config;
        this.udpPath = udpPath;
        this.translation = config.translation();
        this.clock = clock;
        this.queues = List.copyOf(queues);
        this.receivers = receivers;
        this.senders = senders;
    }

    /**
     * Opens the sockets (on this thread) and starts two threads per queue.
     *
     * @throws java.net.BindException when the listening address is in use or not this node's
     */
    public static TunnelEngine start(Config config, List<? extends PacketQueue> queues, ThreadStarter threads,
                                     InstantSource clock) throws IOException {
        if (queues.isEmpty()) {
            throw new IllegalArgumentException("the engine needs at least one packet queue");
        }
        BatchedUdpSocket.Options options = BatchedUdpSocket.Options.defaults()
                .withBatch(config.batchSize(), config.datagramLimit() + 1)
                .withBuffers(config.socketBuffer(), config.socketBuffer())
                .withReceiveTimeout(RECEIVE_POLL);
        List<BatchedUdpSocket> receivers = null;
        String udpPath = "one datagram per packet (UDP offload not asked for)";
        if (config.udpOffload()) {
            // Runs of up to 64 KiB each way: receive slots and send areas that large.
            BatchedUdpSocket.Options offload = options.withBatch(config.batchSize(), RUN_SLOT);
            try {
                receivers = BatchedUdpSocket.openGroup(config.listen(), queues.size(), offload.withUdpGro(true));
                options = offload;
                udpPath = "UDP GSO/GRO (a burst's datagrams sent as runs with UDP_SEGMENT, received joined by"
                        + " UDP_GRO)";
            } catch (IOException e) {
                receivers = null; // the kernel lacks UDP_GRO (and so, likely, UDP_SEGMENT): say so, go without
                udpPath = "one datagram per packet: UDP offload unavailable (" + e.getMessage() + ")";
                log.log(System.Logger.Level.WARNING, "tunnel on {0}: {1}", config.listen(), udpPath);
            }
        }
        if (receivers == null) {
            receivers = BatchedUdpSocket.openGroup(config.listen(), queues.size(), options);
        }
        List<BatchedUdpSocket> senders = new ArrayList<>();
        try {
            InetSocketAddress any = new InetSocketAddress(config.listen().getAddress(), 0);
            for (int i = 0; i < queues.size(); i++) {
                senders.add(BatchedUdpSocket.open(any, options));
            }
        } catch (IOException | RuntimeException e) {
            senders.forEach(BatchedUdpSocket::close);
            receivers.forEach(BatchedUdpSocket::close);
            throw e;
        }
        TunnelEngine engine = new TunnelEngine(config, clock, queues, receivers, List.copyOf(senders), udpPath);
        try {
            for (int k = 0; k < queues.size(); k++) {
                engine.inboundThreads.add(threads.start("tunnel-in-" + k, engine.new Inbound(k)));
                engine.outboundThreads.add(threads.start("tunnel-out-" + k, engine.new Outbound(k)));
            }
        } catch (IOException | RuntimeException e) {
            engine.close();
            throw e;
        }
        return engine;
    }

    /** Starts the engine's loops: plain platform threads, or threads pinned into a network namespace. */
    @FunctionalInterface
    public interface ThreadStarter {
        Thread start(String name, Runnable loop) throws IOException;

        /** Daemon platform threads in the caller's namespace. */
        static ThreadStarter platform() {
            return (name, loop) -> Thread.ofPlatform().name(name).daemon().start(loop);
        }
    }

    /** The address peers send to (with the port picked, when the configured one was 0). */
    public InetSocketAddress localAddress() {
        return receivers.get(0).localAddress();
    }

    public Config config() {
        return config;
    }

    /** How datagrams move: with UDP GSO/GRO, or one per packet and why. */
    public String udpPath() {
        return udpPath;
    }

    /**
     * Adds a peer reached at {@code endpoint} whose inner networks are {@code ranges}.
     *
     * @throws InvalidFieldException when the cluster is known already, or a range overlaps another peer's (clusters
     *                               whose real ranges overlap are given global ranges: see {@link Translation})
     */
    public synchronized TunnelPeer addPeer(ClusterId cluster, InetSocketAddress endpoint, List<Cidr> ranges) {
        Routing now = routing;
        if (now.peers().containsKey(cluster)) {
            throw new InvalidFieldException("tunnel.peer", cluster, "is a peer already");
        }
        for (Cidr range : ranges) {
            for (Map.Entry<Cidr, TunnelPeer> entry : now.table().entries()) {
                if (entry.getKey().overlaps(range)) {
                    throw new InvalidFieldException("tunnel.peer." + cluster + ".ranges", range, "overlaps "
                            + entry.getKey() + " of " + entry.getValue().cluster());
                }
            }
        }
        TunnelPeer peer = new TunnelPeer(cluster, endpoint, ranges);
        CidrTable<TunnelPeer> table = new CidrTable<>(CidrTable.with(now.table().entries(), ranges, peer));
        Map<ClusterId, TunnelPeer> peers = new LinkedHashMap<>(now.peers());
        peers.put(cluster, peer);
        routing = new Routing(Map.copyOf(peers), table);
        underlay.peersAt(peerAddresses());
        return peer;
    }

    /**
     * Changes a peer's endpoint and ranges in place: its sessions and counters stay, so traffic goes on (the address
     * plan and the imports change the ranges; a restarted peer may come back at another endpoint).
     *
     * @throws InvalidFieldException when the cluster is not a peer, or a range overlaps another peer's (then
     *                               nothing changes)
     */
    public synchronized TunnelPeer updatePeer(ClusterId cluster, InetSocketAddress endpoint, List<Cidr> ranges) {
        Routing now = routing;
        TunnelPeer peer = now.peers().get(cluster);
        if (peer == null) {
            throw new InvalidFieldException("tunnel.peer", cluster, "is not a peer: add it first");
        }
        if (endpoint.isUnresolved()) {
            throw new InvalidFieldException("tunnel.peer." + cluster + ".endpoint", endpoint, "is not an IP address");
        }
        List<Map.Entry<Cidr, TunnelPeer>> others = new ArrayList<>(now.table().entries());
        others.removeIf(e -> e.getValue() == peer);
        for (Cidr range : ranges) {
            for (Map.Entry<Cidr, TunnelPeer> entry : others) {
                if (entry.getKey().overlaps(range)) {
                    throw new InvalidFieldException("tunnel.peer." + cluster + ".ranges", range, "overlaps "
                            + entry.getKey() + " of " + entry.getValue().cluster());
                }
            }
        }
        peer.update(endpoint, ranges);
        routing = new Routing(now.peers(), new CidrTable<>(CidrTable.with(others, ranges, peer)));
        underlay.peersAt(peerAddresses());
        return peer;
    }

    /** Replaces this cluster's real ↔ global translation (the address plan granted or changed global segments). */
    public synchronized void translate(Translation translation) {
        this.translation = translation;
    }

    /**
     * Replaces the destinations a decrypted packet may be delivered to: this cluster's segments and exported
     * addresses (as peers send to them, global addresses before translation). Any other destination — the
     * gateway's own addresses, its node's network, anything a peer should not reach — is dropped and counted as
     * {@link DropReason#WRONG_DESTINATION}. Until this is called, nothing is delivered.
     */
    public void deliverTo(LocalDestinations destinations) {
        this.destinations = java.util.Objects.requireNonNull(destinations, "destinations");
    }

    /** The destinations delivered to now. */
    /** The policy stage every packet passes, both ways, from now on (see {@link PacketPolicy}). */
    public void usePolicy(PacketPolicy policy) {
        this.policy = java.util.Objects.requireNonNull(policy, "policy");
    }

    public PacketPolicy policy() {
        return policy;
    }

    public LocalDestinations destinations() {
        return destinations;
    }

    /** The translation in use. */
    public Translation translation() {
        return translation;
    }

    /** Removes a peer: its routes go, its sessions are retired (keys wiped). */
    public synchronized void removePeer(ClusterId cluster) {
        Routing now = routing;
        TunnelPeer peer = now.peers().get(cluster);
        if (peer == null) {
            return;
        }
        List<Map.Entry<Cidr, TunnelPeer>> entries = new ArrayList<>(now.table().entries());
        entries.removeIf(e -> e.getValue() == peer);
        Map<ClusterId, TunnelPeer> peers = new LinkedHashMap<>(now.peers());
        peers.remove(cluster);
        routing = new Routing(Map.copyOf(peers), new CidrTable<>(entries));
        underlay.peersAt(peerAddresses());
        retire(peer.all());
    }

    /**
     * Puts a session from the key exchange with {@code cluster} in use. An initiator's session seals from now on
     * and a keepalive sealed with it goes to the peer at once (that confirms it there); a responder's session opens
     * packets now and seals once the first packet sealed with it arrived.
     */
    public void install(ClusterId cluster, Session session) {
        TunnelPeer peer = routing.peers().get(cluster);
        if (peer == null) {
            session.retire();
            throw new IllegalArgumentException("no tunnel peer " + cluster + ": add it before installing keys");
        }
        synchronized (this) {
            underlay.sessionOpened(session.localIndex()); // before the peer can learn the index from us
            indexes = indexes.with(session, peer);
        }
        retire(peer.install(session, clock.instant(), config.grace()));
        if (session.initiator()) {
            sendKeepalive(peer, session);
        }
    }

    /**
     * Puts {@code filter} in front: it is told the peers' addresses and the open sessions now, then every change
     * (see {@link UnderlayFilter}). The caller closes it.
     */
    public synchronized void useUnderlayFilter(UnderlayFilter filter) {
        underlay = java.util.Objects.requireNonNull(filter, "filter");
        filter.peersAt(peerAddresses());
        indexes.forEachIndex(filter::sessionOpened);
    }

    /**
     * Per open session (by receiver index), per lane, the lowest counter its replay window accepts now: a counter
     * below it is refused whatever comes later, since a window only moves up. For a filter in front that drops
     * replays early; a floor read earlier only ever trails the window.
     */
    public Map<Integer, long[]> receiveFloors() {
        Map<Integer, long[]> floors = new java.util.HashMap<>();
        indexes.forEachSlot(slot -> {
            long[] lanes = new long[Session.LANES];
            for (int lane = 0; lane < Session.LANES; lane++) {
                lanes[lane] = slot.session().window(lane).floor();
            }
            floors.put(slot.session().localIndex(), lanes);
        });
        return floors;
    }

    private java.util.Set<java.net.InetAddress> peerAddresses() {
        java.util.Set<java.net.InetAddress> addresses = new java.util.HashSet<>();
        routing.peers().values().forEach(peer -> addresses.add(peer.endpoint().getAddress()));
        return addresses;
    }

    /** Retires the replaced sessions whose grace has ended; call it every second or so. */
    public void expire() {
        for (TunnelPeer peer : routing.peers().values()) {
            retire(peer.expire(clock.instant()));
        }
    }

    /** The session {@code cluster}'s packets are sealed with, or null. */
    public Session currentSession(ClusterId cluster) {
        TunnelPeer peer = routing.peers().get(cluster);
        return peer == null ? null : peer.current();
    }

    /** Whether {@code cluster} has a session in use or one waiting for confirmation. */
    public boolean keyed(ClusterId cluster) {
        TunnelPeer peer = routing.peers().get(cluster);
        return peer != null && peer.keyed();
    }

    /** Number of sessions that can open packets now (current, unconfirmed and in grace, of all peers). */
    public int openSessions() {
        return indexes.size();
    }

    public TunnelStats stats() {
        List<PeerStats> peers = new ArrayList<>();
        for (TunnelPeer peer : routing.peers().values()) {
            peers.add(peer.stats(clock.instant()));
        }
        return new TunnelStats(List.copyOf(peers), unattributed.snapshot());
    }

    /**
     * Stops the threads, closes the sockets, retires every session. Does not close the packet queues (their owner
     * does, before or after); a reader waits at most 100 ms in a read, so the threads end promptly either way.
     */
    @Override
    public void close() {
        running = false;
        receivers.forEach(BatchedUdpSocket::close);
        join(inboundThreads, Duration.ofSeconds(5));
        join(outboundThreads, Duration.ofSeconds(1));
        senders.forEach(BatchedUdpSocket::close);
        for (TunnelPeer peer : routing.peers().values()) {
            retire(peer.all());
        }
    }

    private static void join(List<Thread> threads, Duration patience) {
        for (Thread thread : threads) {
            try {
                thread.join(patience.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void retire(List<Session> sessions) {
        for (Session session : sessions) {
            synchronized (this) {
                IndexTable before = indexes;
                indexes = before.without(session);
                if (indexes != before) {
                    underlay.sessionClosed(session.localIndex());
                }
            }
            session.retire();
        }
    }

    private void sendKeepalive(TunnelPeer peer, Session session) {
        byte[] datagram = new byte[WireFormat.OVERHEAD];
        try {
            int lane = Session.LANES - 1; // the control lane: sender threads use lanes 0..14
            long counter = session.nextCounter(lane, 0);
            synchronized (controlCipher) {
                controlCipher.seal(session, WireFormat.TYPE_KEEPALIVE, lane, counter, datagram, 0, 0, datagram, 0);
            }
            if (!senders.get(0).sendOne(peer.endpoint(), datagram)) {
                peer.drops.count(DropReason.IO_ERROR);
            }
        } catch (IOException | GeneralSecurityException e) {
            peer.drops.count(DropReason.IO_ERROR);
            log.log(System.Logger.Level.WARNING, "keepalive to {0} failed: {1}", peer.cluster(), e.toString());
        }
    }

    /** Local side → peers: read, route, seal, send in batches. */
    private final class Outbound implements Runnable {
        private final PacketQueue queue;
        private final BatchedUdpSocket socket;
        private final DatagramBatch batch;
        private final PacketCipher cipher = new PacketCipher();
        private final byte[] packet = new byte[config.mtu() + 1];
        private final byte[] sealed = new byte[config.datagramLimit()];
        private final PacketQueue.Packets sealer = this::seal;
        private final boolean runs;
        private final int lane;

        Outbound(int k) {
            this.lane = k % (Session.LANES - 1);
            this.queue = queues.get(k);
            this.socket = senders.get(k);
            this.batch = socket.newBatch();
            this.runs = receivers.get(0).options().udpGro(); // GRO took, so this kernel has UDP_SEGMENT too
        }

        @Override
        public void run() {
            try {
                while (running) {
                    int taken = queue.read(packet, POLL_NANOS, sealer);
                    while (taken > 0 && taken < config.batchSize()) {
                        int more = queue.read(packet, 0, sealer);
                        if (more == 0) {
                            break;
                        }
                        taken += more;
                    }
                    flush();
                }
            } catch (ClosedChannelException e) {
                // closing
            } catch (IOException | RuntimeException e) {
                if (running) {
                    log.log(System.Logger.Level.ERROR, "tunnel outbound loop stopped: " + e, e);
                }
            }
        }

        private void seal(byte[] from, int at, int length) throws IOException {
            int version = InnerPacket.version(from, at, Math.min(length, from.length - at));
            if (version == 0) {
                unattributed.count(DropReason.MALFORMED);
                return;
            }
            if (length > config.mtu()) {
                unattributed.count(DropReason.OVERSIZED);
                return;
            }
            if (!InnerPacket.complete(from, at, length, version)) {
                unattributed.count(DropReason.SHORT);
                return;
            }
            CidrTable<TunnelPeer> table = routing.table();
            int destination = at + InnerPacket.destinationOffset(version);
            TunnelPeer peer = version == 4 ? table.lookupIpv4(from, destination) : table.lookupIpv6(from, destination);
            if (peer == null) {
                unattributed.count(DropReason.NO_ROUTE);
                return;
            }
            if (policy.verdict(PacketPolicy.Direction.OUTBOUND, peer.cluster(), from, at, length, version)
                    == PacketPolicy.Verdict.DENY) {
                peer.drops.count(DropReason.POLICY_DENIED);
                return;
            }
            Session session = peer.current();
            long counter = session == null ? -1 : session.nextCounter(lane, length);
            if (counter >= 0 && !translation.isEmpty()) {
                translation.outbound(from, at, length, version);
            }
            if (counter < 0) {
                peer.drops.count(DropReason.NO_SESSION);
                return;
            }
            int datagram;
            try {
                datagram = cipher.seal(session, WireFormat.TYPE_DATA, lane, counter, from, at, length, sealed, 0);
            } catch (GeneralSecurityException | IllegalStateException e) {
                peer.drops.count(DropReason.NO_SESSION); // retired between the read of current and the seal
                return;
            }
            if (!queueDatagram(peer, datagram)) {
                flush();
                queueDatagram(peer, datagram);
            }
            peer.sentPackets.increment();
            peer.sentBytes.add(length);
        }

        private boolean queueDatagram(TunnelPeer peer, int length) {
            return runs ? batch.addSegment(peer.endpoint(), sealed, 0, length)
                    : batch.add(peer.endpoint(), sealed, 0, length);
        }

        private void flush() throws IOException {
            int queued = batch.datagrams();
            if (queued > 0) {
                int sent = socket.send(batch);
                for (int i = sent; i < queued; i++) {
                    unattributed.count(DropReason.IO_ERROR);
                }
            }
        }
    }

    /** Peers → local side: receive in batches, open, check, write. */
    private final class Inbound implements Runnable {
        private final PacketQueue queue;
        private final BatchedUdpSocket socket;
        private final DatagramBatch batch;
        private final PacketCipher cipher = new PacketCipher();
        private final byte[] datagram = new byte[config.datagramLimit() + 1];
        private final byte[] packet = new byte[config.datagramLimit()];

        Inbound(int k) {
            this.queue = queues.get(k);
            this.socket = receivers.get(k);
            this.batch = socket.newBatch();
        }

        @Override
        public void run() {
            try {
                while (running) {
                    int received = socket.receive(batch);
                    for (int i = 0; i < received; i++) {
                        if (batch.truncated(i)) {
                            unattributed.count(DropReason.OVERSIZED);
                            continue;
                        }
                        // A run the kernel joined (UDP_GRO) holds several datagrams, each sealed on its own.
                        int length = batch.length(i);
                        int segment = batch.segmentSize(i);
                        for (int from = 0; from < length || from == 0; from += segment) {
                            int part = Math.min(segment, length - from);
                            if (part > datagram.length) {
                                unattributed.count(DropReason.OVERSIZED);
                            } else {
                                batch.copyPayload(i, from, part, datagram, 0);
                                open(part);
                            }
                            if (segment == 0) {
                                break;
                            }
                        }
                    }
                    for (int refused = queue.flush(); refused > 0; refused--) {
                        unattributed.count(DropReason.IO_ERROR);
                    }
                }
            } catch (ClosedChannelException e) {
                // closing
            } catch (IOException | RuntimeException e) {
                if (running) {
                    log.log(System.Logger.Level.ERROR, "tunnel inbound loop stopped: " + e, e);
                }
            }
        }

        private void open(int length) {
            if (length < WireFormat.OVERHEAD) {
                unattributed.count(DropReason.SHORT);
                return;
            }
            byte type = WireFormat.type(datagram, 0);
            if (type == 0) {
                unattributed.count(DropReason.MALFORMED);
                return;
            }
            IndexTable.Slot slot = indexes.lookup(WireFormat.receiverIndex(datagram, 0));
            if (slot == null) {
                unattributed.count(DropReason.UNKNOWN_INDEX);
                return;
            }
            TunnelPeer peer = slot.peer();
            Session session = slot.session();
            if (WireFormat.version(datagram, 0) != session.wireVersion()) {
                peer.drops.count(DropReason.WRONG_VERSION);
                return;
            }
            if (length > config.datagramLimit()) {
                peer.drops.count(DropReason.OVERSIZED);
                return;
            }
            long counter = WireFormat.counter(datagram, 0);
            ReplayWindow window = session.window(WireFormat.lane(datagram, 0));
            if (!window.mightAccept(counter)) {
                peer.drops.count(DropReason.REPLAY);
                return;
            }
            int plain;
            try {
                plain = cipher.open(session, datagram, 0, length, packet, 0);
            } catch (GeneralSecurityException e) {
                plain = -1;
            }
            if (plain < 0) {
                peer.drops.count(DropReason.AUTH_FAILURE);
                return;
            }
            if (!window.accept(counter)) {
                peer.drops.count(DropReason.REPLAY);
                return;
            }
            if (peer.awaitsConfirmation(session)) {
                retire(peer.confirm(session, clock.instant(), config.grace()));
            }
            if (type == WireFormat.TYPE_KEEPALIVE) {
                return;
            }
            deliver(peer, plain);
        }

        private void deliver(TunnelPeer peer, int length) {
            int version = InnerPacket.version(packet, 0, length);
            if (version == 0) {
                peer.drops.count(DropReason.MALFORMED);
                return;
            }
            if (!InnerPacket.complete(packet, 0, length, version)) {
                peer.drops.count(DropReason.SHORT);
                return;
            }
            CidrTable<TunnelPeer> table = routing.table();
            int source = InnerPacket.sourceOffset(version);
            TunnelPeer owner = version == 4 ? table.lookupIpv4(packet, source) : table.lookupIpv6(packet, source);
            if (owner != peer) {
                peer.drops.count(DropReason.WRONG_SOURCE);
                return;
            }
            int destination = InnerPacket.destinationOffset(version);
            LocalDestinations local = destinations;
            if (!(version == 4 ? local.containsIpv4(packet, destination) : local.containsIpv6(packet, destination))) {
                peer.drops.count(DropReason.WRONG_DESTINATION);
                return;
            }
            if (!translation.isEmpty()) {
                translation.inbound(packet, 0, length, version);
            }
            if (policy.verdict(PacketPolicy.Direction.INBOUND, peer.cluster(), packet, 0, length, version)
                    == PacketPolicy.Verdict.DENY) {
                peer.drops.count(DropReason.POLICY_DENIED);
                return;
            }
            try {
                if (!queue.write(packet, 0, length)) {
                    peer.drops.count(DropReason.IO_ERROR);
                    return;
                }
            } catch (ClosedChannelException e) {
                return; // the device is closing
            } catch (IOException e) {
                peer.drops.count(DropReason.IO_ERROR);
                return;
            }
            peer.receivedPackets.increment();
            peer.receivedBytes.add(length);
        }
    }
}
