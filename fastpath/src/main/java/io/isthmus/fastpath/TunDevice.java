package io.isthmus.fastpath;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

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
    /** The kernel's limit on queues of one device (MAX_TAP_QUEUES). */
    public static final int MAX_QUEUES = 256;
    /** {@code struct virtio_net_hdr}: what precedes every packet read or written when the vnet header is on. */
    public static final int VNET_HEADER_SIZE = 10;
    private static final String TUN_PATH = "/dev/net/tun";
    /** The probe's transient device; the kernel numbers it, so probes at once do not collide. */
    private static final String PROBE_NAME = "isthprobe%d";

    /** Offloads the kernel may use towards a device with the vnet header ({@code TUNSETOFFLOAD}). */
    public enum Offload {
        /** The kernel may hand over packets with a partial checksum (the header says where to finish it). */
        CHECKSUM(Syscalls.TUN_F_CSUM),
        /** TCP segmentation offload over IPv4: packets up to 64 KiB that the reader segments. Needs CHECKSUM. */
        TSO4(Syscalls.TUN_F_TSO4),
        /** TCP segmentation offload over IPv6. Needs CHECKSUM. */
        TSO6(Syscalls.TUN_F_TSO6),
        /** TSO with the ECN CWR bit. Needs TSO4 or TSO6. */
        TSO_ECN(Syscalls.TUN_F_TSO_ECN),
        /** UDP segmentation offload over IPv4 (Linux 6.2+). Needs CHECKSUM. */
        USO4(Syscalls.TUN_F_USO4),
        /** UDP segmentation offload over IPv6 (Linux 6.2+). Needs CHECKSUM. */
        USO6(Syscalls.TUN_F_USO6);

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
            int flags = Syscalls.IFF_TUN | Syscalls.IFF_NO_PI;
            if (multiQueue()) {
                flags |= Syscalls.IFF_MULTI_QUEUE;
            }
            if (vnetHeader) {
                flags |= Syscalls.IFF_VNET_HDR;
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
    private final List<TunQueue> queues;
    private final NativeHandle handle;

    private TunDevice(String name, Options options, Arena arena, int wakeFd, int[] fds) {
        this.name = name;
        this.options = options;
        List<TunQueue> list = new ArrayList<>(fds.length);
        for (int i = 0; i < fds.length; i++) {
            list.add(new TunQueue(this, i, fds[i], wakeFd, arena));
        }
        this.queues = List.copyOf(list);
        int[] owned = Arrays.copyOf(fds, fds.length + 1);
        owned[fds.length] = wakeFd;
        MemorySegment wakeValue = arena.allocateFrom(ValueLayout.JAVA_LONG, 1L);
        // The eventfd stays readable from the wake on, so every poll in progress or to come returns at once.
        this.handle = new NativeHandle("tun " + name, arena, owned, () -> {
            try (Arena call = Arena.ofConfined()) {
                Syscalls.write(Syscalls.newCallState(call), wakeFd, wakeValue.address(), Long.BYTES);
            }
        });
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
        Syscalls.ensureAvailable("TUN");
        Arena arena = Arena.ofShared();
        List<Integer> opened = new ArrayList<>();
        int wakeFd = -1;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newCallState(call);
            wakeFd = Syscalls.eventfd(state, 0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
            if (wakeFd < 0) {
                throw Errno.networkFailure(Errno.Subject.TUN, "eventfd for tun " + name, Syscalls.errno(state), null);
            }
            MemorySegment path = call.allocateFrom(TUN_PATH);
            MemorySegment request = call.allocate(Syscalls.IFREQ);
            String actualName = name;
            for (int i = 0; i < options.queues(); i++) {
                String what = "creating tun device " + name + (options.multiQueue()
                        ? " (queue " + (i + 1) + " of " + options.queues() + ")" : "");
                int fd = Syscalls.open(state, path, Syscalls.O_RDWR | Syscalls.O_CLOEXEC | Syscalls.O_NONBLOCK);
                if (fd < 0) {
                    throw Errno.networkFailure(Errno.Subject.TUN, what + ": open " + TUN_PATH, Syscalls.errno(state),
                            null);
                }
                opened.add(fd);
                request.fill((byte) 0);
                byte[] requestName = (i == 0 ? nameBytes : actualName.getBytes(StandardCharsets.UTF_8));
                MemorySegment.copy(requestName, 0, request, ValueLayout.JAVA_BYTE, 0, requestName.length);
                request.set(ValueLayout.JAVA_SHORT, Syscalls.IFREQ.byteOffset(groupElement("ifr_flags")),
                        (short) options.flags());
                if (Syscalls.ioctl(state, fd, Syscalls.TUNSETIFF, request) != 0) {
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
        if (Syscalls.ioctl(state, fd, Syscalls.TUNSETVNETHDRSZ, size) != 0) {
            throw Errno.networkFailure(Errno.Subject.TUN, "setting the vnet header size of tun " + name
                    + " (TUNSETVNETHDRSZ " + VNET_HEADER_SIZE + ")", Syscalls.errno(state), null);
        }
        if (Syscalls.ioctl(state, fd, Syscalls.TUNSETOFFLOAD, options.offloadFlags()) != 0) {
            throw Errno.networkFailure(Errno.Subject.TUN, "setting offloads " + options.offloads() + " on tun " + name
                    + " (TUNSETOFFLOAD)", Syscalls.errno(state), null);
        }
    }

    /** What {@link FastPaths#tun()} reports: tries the device node, its features, and a transient device. */
    static Availability probe() {
        var missing = Syscalls.unavailable();
        if (missing.isPresent()) {
            return Availability.no(missing.get());
        }
        int features;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newCallState(call);
            int fd = Syscalls.open(state, call.allocateFrom(TUN_PATH), Syscalls.O_RDWR | Syscalls.O_CLOEXEC);
            if (fd < 0) {
                return Availability.no(Errno.networkFailure(Errno.Subject.TUN, "opening " + TUN_PATH,
                        Syscalls.errno(state), null).getMessage());
            }
            try {
                MemorySegment result = call.allocate(ValueLayout.JAVA_INT);
                if (Syscalls.ioctl(state, fd, Syscalls.TUNGETFEATURES, result) != 0) {
                    return Availability.no(Errno.networkFailure(Errno.Subject.TUN, "TUNGETFEATURES on " + TUN_PATH,
                            Syscalls.errno(state), null).getMessage());
                }
                features = result.get(ValueLayout.JAVA_INT, 0);
            } finally {
                Syscalls.close(fd);
            }
        }
        boolean multiQueue = (features & Syscalls.IFF_MULTI_QUEUE) != 0;
        boolean vnetHeader = (features & Syscalls.IFF_VNET_HDR) != 0;
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
        if (bytes.length > Syscalls.IFNAMSIZ - 1) {
            throw new InvalidArgumentException("tun name", name, "is " + bytes.length + " bytes, longer than "
                    + (Syscalls.IFNAMSIZ - 1) + " (IFNAMSIZ " + Syscalls.IFNAMSIZ + " with the NUL)");
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
        return handle.isOpen();
    }

    /**
     * Closes every queue, which removes the device; wakes threads blocked in {@link TunQueue#read} (they throw
     * {@link java.nio.channels.AsynchronousCloseException}) and returns once the descriptors are closed (at most a
     * few seconds should a call not return). Idempotent; any thread.
     */
    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "TunDevice[" + name + ", queues=" + queues.size() + (options.vnetHeader() ? ", vnet header "
                + options.offloads() : "") + (isOpen() ? "" : ", closed") + "]";
    }

    /** Counts a call of a queue in; false when closed. */
    boolean enter() {
        return handle.enter();
    }

    void leave() {
        handle.leave();
    }
}
