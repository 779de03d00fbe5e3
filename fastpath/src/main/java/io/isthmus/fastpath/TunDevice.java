package io.isthmus.fastpath;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A layer-3 TUN device ({@code IFF_TUN | IFF_NO_PI}) made through {@code /dev/net/tun} and FFM, with one or more
 * queues ({@code IFF_MULTI_QUEUE}): each {@link TunQueue} is its own descriptor, and the kernel spreads the packets it
 * sends into the device over the queues by flow, so one thread per queue keeps per-flow order.
 *
 * <pre>{@code
 * try (TunDevice tun = TunDevice.open("isthmus0", TunDevice.Options.defaults().withQueues(2));
 *      RouteNetlink netlink = RouteNetlink.open()) {
 *     netlink.setMtu(tun.name(), 1420);
 *     netlink.addAddress(tun.name(), IpPrefix.parse("10.99.0.1/24"));
 *     netlink.setUp(tun.name(), true);
 *     MemorySegment buffer = Arena.ofConfined().allocate(65_536);
 *     int length = tun.queue(0).read(buffer);      // one IP packet, no allocation
 *     tun.queue(0).write(buffer, 0, length);
 * }
 * }</pre>
 *
 * <p>The device lives in the network namespace of the thread that opens it (see {@link NetNamespace}), and lasts as
 * long as its queues: {@link #close()} removes it (the device is not persistent). Addresses, MTU, routes and the
 * link state are set through {@link RouteNetlink}. {@code close()} may come from any thread: it wakes every thread
 * blocked in {@link TunQueue#read}, which then throws {@link java.nio.channels.AsynchronousCloseException}, and
 * returns once the descriptors are closed. Needs CAP_NET_ADMIN; {@link FastPaths#tun()} says whether it works here.
 */
public final class TunDevice implements AutoCloseable {
    private static final System.Logger log = System.getLogger(TunDevice.class.getName());
    /** The kernel's limit on queues of one device (MAX_TAP_QUEUES). */
    public static final int MAX_QUEUES = 256;
    /** {@code struct virtio_net_hdr}: what precedes every packet read or written when the vnet header is on. */
    public static final int VNET_HEADER_SIZE = 10;
    /** Set in {@link #state} once closing began; the bits below count the calls in progress. */
    private static final int CLOSED = 1 << 30;
    private static final Duration CLOSE_PATIENCE = Duration.ofSeconds(5);
    private static final String TUN_PATH = "/dev/net/tun";
    /** The probe's transient device; the kernel numbers it, so probes at once do not collide. */
    private static final String PROBE_NAME = "isthprobe%d";

    /** Offloads the kernel may use towards a device with the vnet header ({@code TUNSETOFFLOAD}). */
    public enum Offload {
        /** The kernel may hand over packets with a partial checksum (the header says where to finish it). */
        CHECKSUM(LinuxCalls.TUN_F_CSUM),
        /** TCP segmentation offload over IPv4: packets up to 64 KiB that the reader segments. Needs CHECKSUM. */
        TSO4(LinuxCalls.TUN_F_TSO4),
        /** TCP segmentation offload over IPv6. Needs CHECKSUM. */
        TSO6(LinuxCalls.TUN_F_TSO6),
        /** TSO with the ECN CWR bit. Needs TSO4 or TSO6. */
        TSO_ECN(LinuxCalls.TUN_F_TSO_ECN),
        /** UDP segmentation offload over IPv4 (Linux 6.2+). Needs CHECKSUM. */
        USO4(LinuxCalls.TUN_F_USO4),
        /** UDP segmentation offload over IPv6 (Linux 6.2+). Needs CHECKSUM. */
        USO6(LinuxCalls.TUN_F_USO6);

        final int flag;

        Offload(int flag) {
            this.flag = flag;
        }
    }

    /**
     * How the device is opened.
     *
     * @param queues     descriptors to open on the device (1..256); more than one sets IFF_MULTI_QUEUE
     * @param vnetHeader IFF_VNET_HDR: every packet read or written is preceded by a {@value #VNET_HEADER_SIZE}-byte
     *                   {@code virtio_net_hdr} (zeros for a plain packet); needed for {@code offloads}
     * @param offloads   what the kernel may hand over unfinished (TSO, partial checksums); empty without vnetHeader
     */
    public record Options(int queues, boolean vnetHeader, Set<Offload> offloads) {
        public Options {
            if (queues < 1 || queues > MAX_QUEUES) {
                throw new InvalidArgumentException("tun queues", queues, "must be between 1 and " + MAX_QUEUES);
            }
            offloads = offloads.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(offloads));
            if (!vnetHeader && !offloads.isEmpty()) {
                throw new InvalidArgumentException("tun offloads", offloads, "need the vnet header (withVnetHeader)");
            }
            if (!offloads.isEmpty() && !offloads.contains(Offload.CHECKSUM)) {
                throw new InvalidArgumentException("tun offloads", offloads,
                        "segmentation offloads need CHECKSUM as well");
            }
        }

        /** One queue, no vnet header. */
        public static Options defaults() {
            return new Options(1, false, Set.of());
        }

        public Options withQueues(int queues) {
            return new Options(queues, vnetHeader, offloads);
        }

        /** The vnet header on, with these offloads (none: the header is there and every packet is plain). */
        public Options withVnetHeader(Set<Offload> offloads) {
            return new Options(queues, true, offloads);
        }

        boolean multiQueue() {
            return queues > 1;
        }

        int flags() {
            int flags = LinuxCalls.IFF_TUN | LinuxCalls.IFF_NO_PI;
            if (multiQueue()) {
                flags |= LinuxCalls.IFF_MULTI_QUEUE;
            }
            if (vnetHeader) {
                flags |= LinuxCalls.IFF_VNET_HDR;
            }
            return flags;
        }

        int offloadFlags() {
            int flags = 0;
            for (Offload offload : offloads) {
                flags |= offload.flag;
            }
            return flags;
        }
    }

    private final String name;
    private final Options options;
    private final Arena arena;
    private final int wakeFd;
    private final MemorySegment wakeValue;
    private final List<TunQueue> queues;
    private final AtomicInteger state = new AtomicInteger();
    private final AtomicBoolean released = new AtomicBoolean();
    private final CountDownLatch gone = new CountDownLatch(1);

    private TunDevice(String name, Options options, Arena arena, int wakeFd, int[] fds) {
        this.name = name;
        this.options = options;
        this.arena = arena;
        this.wakeFd = wakeFd;
        this.wakeValue = arena.allocateFrom(ValueLayout.JAVA_LONG, 1L);
        List<TunQueue> list = new ArrayList<>(fds.length);
        for (int i = 0; i < fds.length; i++) {
            list.add(new TunQueue(this, i, fds[i], wakeFd, arena));
        }
        this.queues = List.copyOf(list);
    }

    /**
     * Creates the TUN device {@code name} in the calling thread's network namespace and opens
     * {@code options.queues()} queues on it. A name with {@code %d} lets the kernel number it ({@link #name()} tells
     * the result). The device starts down, without addresses; {@link RouteNetlink} sets them.
     *
     * @throws InvalidArgumentException      when the name is empty, longer than 15 bytes, or has '/', ':' or spaces
     * @throws SystemCallException           when the kernel refuses, saying why (EPERM: needs CAP_NET_ADMIN; EBUSY:
     *                                       in use); nothing stays open
     * @throws UnsupportedOperationException where native access or the platform rules FFM out
     */
    public static TunDevice open(String name, Options options) throws IOException {
        byte[] nameBytes = validName(name);
        LinuxCalls.ensureAvailable("TUN");
        Arena arena = Arena.ofShared();
        List<Integer> opened = new ArrayList<>();
        int wakeFd = -1;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newCallState(call);
            wakeFd = LinuxCalls.eventfd(state, 0, LinuxCalls.EFD_CLOEXEC | LinuxCalls.EFD_NONBLOCK);
            if (wakeFd < 0) {
                throw Errno.networkFailure(Errno.Subject.TUN, "eventfd for tun " + name, Syscalls.errno(state), null);
            }
            MemorySegment path = call.allocateFrom(TUN_PATH);
            MemorySegment request = call.allocate(LinuxCalls.IFREQ);
            String actualName = name;
            for (int i = 0; i < options.queues(); i++) {
                String what = "creating tun device " + name + (options.multiQueue()
                        ? " (queue " + (i + 1) + " of " + options.queues() + ")" : "");
                int fd = LinuxCalls.open(state, path, LinuxCalls.O_RDWR | LinuxCalls.O_CLOEXEC | LinuxCalls.O_NONBLOCK);
                if (fd < 0) {
                    throw Errno.networkFailure(Errno.Subject.TUN, what + ": open " + TUN_PATH, Syscalls.errno(state),
                            null);
                }
                opened.add(fd);
                request.fill((byte) 0);
                byte[] requestName = (i == 0 ? nameBytes : actualName.getBytes(StandardCharsets.UTF_8));
                MemorySegment.copy(requestName, 0, request, ValueLayout.JAVA_BYTE, 0, requestName.length);
                request.set(ValueLayout.JAVA_SHORT, LinuxCalls.IFREQ.byteOffset(groupElement("ifr_flags")),
                        (short) options.flags());
                if (LinuxCalls.ioctl(state, fd, LinuxCalls.TUNSETIFF, request) != 0) {
                    throw Errno.networkFailure(Errno.Subject.TUN, what + ": TUNSETIFF", Syscalls.errno(state), null);
                }
                if (i == 0) {
                    actualName = request.getString(0); // the kernel writes back the name, numbered if it had %d
                    configureVnetHeader(call, state, fd, actualName, options);
                }
            }
            int[] fds = opened.stream().mapToInt(Integer::intValue).toArray();
            return new TunDevice(actualName, options, arena, wakeFd, fds);
        } catch (IOException | RuntimeException | Error e) {
            opened.forEach(Syscalls::close);
            if (wakeFd >= 0) {
                Syscalls.close(wakeFd);
            }
            arena.close();
            throw e;
        }
    }

    private static void configureVnetHeader(Arena call, MemorySegment state, int fd, String name, Options options)
            throws SystemCallException {
        if (!options.vnetHeader()) {
            return;
        }
        MemorySegment size = call.allocateFrom(ValueLayout.JAVA_INT, VNET_HEADER_SIZE);
        if (LinuxCalls.ioctl(state, fd, LinuxCalls.TUNSETVNETHDRSZ, size) != 0) {
            throw Errno.networkFailure(Errno.Subject.TUN, "setting the vnet header size of tun " + name
                    + " (TUNSETVNETHDRSZ " + VNET_HEADER_SIZE + ")", Syscalls.errno(state), null);
        }
        if (LinuxCalls.ioctl(state, fd, LinuxCalls.TUNSETOFFLOAD, options.offloadFlags()) != 0) {
            throw Errno.networkFailure(Errno.Subject.TUN, "setting offloads " + options.offloads() + " on tun " + name
                    + " (TUNSETOFFLOAD)", Syscalls.errno(state), null);
        }
    }

    /** What {@link FastPaths#tun()} reports: tries the device node, its features, and a transient device. */
    static Availability probe() {
        var missing = LinuxCalls.unavailable();
        if (missing.isPresent()) {
            return Availability.no(missing.get());
        }
        int features;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newCallState(call);
            int fd = LinuxCalls.open(state, call.allocateFrom(TUN_PATH), LinuxCalls.O_RDWR | LinuxCalls.O_CLOEXEC);
            if (fd < 0) {
                return Availability.no(Errno.networkFailure(Errno.Subject.TUN, "opening " + TUN_PATH,
                        Syscalls.errno(state), null).getMessage());
            }
            try {
                MemorySegment result = call.allocate(ValueLayout.JAVA_INT);
                if (LinuxCalls.ioctl(state, fd, LinuxCalls.TUNGETFEATURES, result) != 0) {
                    return Availability.no(Errno.networkFailure(Errno.Subject.TUN, "TUNGETFEATURES on " + TUN_PATH,
                            Syscalls.errno(state), null).getMessage());
                }
                features = result.get(ValueLayout.JAVA_INT, 0);
            } finally {
                Syscalls.close(fd);
            }
        }
        boolean multiQueue = (features & LinuxCalls.IFF_MULTI_QUEUE) != 0;
        boolean vnetHeader = (features & LinuxCalls.IFF_VNET_HDR) != 0;
        Options plain = Options.defaults().withQueues(multiQueue ? 2 : 1);
        List<Set<Offload>> offloadChoices = vnetHeader ? List.of(
                EnumSet.of(Offload.CHECKSUM, Offload.TSO4, Offload.TSO6, Offload.USO4, Offload.USO6),
                EnumSet.of(Offload.CHECKSUM, Offload.TSO4, Offload.TSO6)) : List.of();
        String vnet = "no vnet header (the kernel does not offer IFF_VNET_HDR)";
        boolean created = false;
        for (Set<Offload> offloads : offloadChoices) {
            try (TunDevice device = open(PROBE_NAME, plain.withVnetHeader(offloads))) {
                vnet = "vnet header with offloads " + offloads;
                created = true;
                break;
            } catch (SystemCallException e) {
                if (e.notPermitted()) {
                    return Availability.no(e.getMessage());
                }
                vnet = "no vnet header offloads (" + e.getMessage() + ")";
            } catch (IOException | RuntimeException e) {
                return Availability.no("a test device failed: " + e.getMessage());
            }
        }
        if (!created) {
            try (TunDevice device = open(PROBE_NAME, plain)) {
                created = true;
            } catch (IOException | RuntimeException e) {
                return Availability.no(e.getMessage());
            }
        }
        return Availability.yes("TUN devices work: " + (multiQueue ? "multi-queue" : "single queue only (no"
                + " IFF_MULTI_QUEUE)") + ", " + vnet);
    }

    /** Checks an interface name as the kernel will (dev_valid_name), so a bad one fails before anything is made. */
    static byte[] validName(String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidArgumentException("tun name", name, "must not be empty");
        }
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > LinuxCalls.IFNAMSIZ - 1) {
            throw new InvalidArgumentException("tun name", name, "is " + bytes.length + " bytes, longer than "
                    + (LinuxCalls.IFNAMSIZ - 1) + " (IFNAMSIZ " + LinuxCalls.IFNAMSIZ + " with the NUL)");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new InvalidArgumentException("tun name", name, "is not a name");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || c == 0 || Character.isWhitespace(c)) {
                throw new InvalidArgumentException("tun name", name, "must not contain '/', ':', NUL or spaces");
            }
        }
        return bytes;
    }

    /** The device's name, as the kernel has it (numbered if the requested name had {@code %d}). */
    public String name() {
        return name;
    }

    public Options options() {
        return options;
    }

    /** The queues, one descriptor each; give each its own reading thread. */
    public List<TunQueue> queues() {
        return queues;
    }

    public TunQueue queue(int index) {
        return queues.get(index);
    }

    /** Bytes before each packet read or written: {@value #VNET_HEADER_SIZE} with the vnet header, else 0. */
    public int headerSize() {
        return options.vnetHeader() ? VNET_HEADER_SIZE : 0;
    }

    public boolean isOpen() {
        return (state.get() & CLOSED) == 0;
    }

    /**
     * Closes every queue, which removes the device; wakes threads blocked in {@link TunQueue#read} (they throw
     * {@link java.nio.channels.AsynchronousCloseException}) and returns once the descriptors are closed (at most a
     * few seconds should a call not return). Idempotent; any thread.
     */
    @Override
    public void close() {
        int current;
        do {
            current = state.get();
            if ((current & CLOSED) != 0) {
                awaitGone();
                return;
            }
        } while (!state.compareAndSet(current, current | CLOSED));
        // The eventfd stays readable from now on, so every poll in progress or to come returns at once. The queue
        // descriptors stay open until the last call has left, so their numbers cannot be reused under a call.
        try (Arena call = Arena.ofConfined()) {
            MemorySegment callState = Syscalls.newCallState(call);
            LinuxCalls.write(callState, wakeFd, wakeValue.address(), Long.BYTES);
        }
        if (state.get() == CLOSED) {
            release();
        }
        awaitGone();
    }

    @Override
    public String toString() {
        return "TunDevice[" + name + ", queues=" + queues.size() + (options.vnetHeader() ? ", vnet header "
                + options.offloads() : "") + (isOpen() ? "" : ", closed") + "]";
    }

    /** Counts a call in; false when closed. */
    boolean enter() {
        while (true) {
            int current = state.get();
            if ((current & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    void leave() {
        if (state.decrementAndGet() == CLOSED) {
            release(); // the last call out after close() frees what close() could not
        }
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            for (TunQueue queue : queues) {
                Syscalls.close(queue.fd());
            }
            Syscalls.close(wakeFd);
            arena.close();
            gone.countDown();
        }
    }

    private void awaitGone() {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    if (!gone.await(CLOSE_PATIENCE.toMillis(), TimeUnit.MILLISECONDS)) {
                        log.log(System.Logger.Level.WARNING, "tun {0}: a call did not return within {1} of close;"
                                + " its descriptors are closed when it does", name, CLOSE_PATIENCE);
                    }
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
