package io.isthmus.fastpath;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Network configuration through rtnetlink ({@code NETLINK_ROUTE}) from Java, without the {@code ip} command: link
 * up/down and MTU, IPv4/IPv6 addresses, and unicast routes (add, replace, delete, list) through a device, optionally
 * via a gateway, in a table, with a metric.
 *
 * <pre>{@code
 * try (RouteNetlink netlink = RouteNetlink.open()) {
 *     netlink.setMtu("isthmus0", 1420);
 *     netlink.addAddress("isthmus0", IpPrefix.parse("10.99.0.1/24"));
 *     netlink.setUp("isthmus0", true);
 *     netlink.replaceRoute(Route.to(IpPrefix.parse("10.20.0.0/16"), "isthmus0"));
 * }
 * }</pre>
 *
 * <p>The socket belongs to the network namespace of the thread that {@link #open}s it (see {@link NetNamespace}) and
 * configures that namespace whichever thread uses it later. Every request asks for an acknowledgement, so each call
 * returns only once the kernel applied it, or throws {@link SystemCallException} saying what failed, the errno and
 * what to do (EPERM: needs CAP_NET_ADMIN; EEXIST: route already exists; ENODEV: no such device), with the kernel's
 * own explanation where it gives one (extended ack). Calls are serialized: one request at a time per instance.
 */
public final class RouteNetlink implements AutoCloseable {
    // <linux/netlink.h>
    private static final int NLMSG_HDRLEN = 16;
    private static final short NLMSG_ERROR = 2;
    private static final short NLMSG_DONE = 3;
    private static final short NLM_F_REQUEST = 0x1;
    private static final short NLM_F_MULTI = 0x2;
    private static final short NLM_F_ACK = 0x4;
    private static final short NLM_F_REPLACE = 0x100;
    private static final short NLM_F_EXCL = 0x200;
    private static final short NLM_F_CREATE = 0x400;
    private static final short NLM_F_DUMP = 0x300;
    private static final short NLM_F_CAPPED = 0x100;
    private static final short NLM_F_ACK_TLVS = 0x200;
    private static final int NLMSGERR_ATTR_MSG = 1;
    // <linux/rtnetlink.h>
    private static final short RTM_NEWLINK = 16;
    private static final short RTM_GETLINK = 18;
    private static final short RTM_SETLINK = 19;
    private static final short RTM_NEWADDR = 20;
    private static final short RTM_DELADDR = 21;
    private static final short RTM_GETADDR = 22;
    private static final short RTM_NEWROUTE = 24;
    private static final short RTM_DELROUTE = 25;
    private static final short RTM_GETROUTE = 26;
    private static final int IFLA_IFNAME = 3;
    private static final int IFLA_MTU = 4;
    private static final int IFA_ADDRESS = 1;
    private static final int IFA_LOCAL = 2;
    private static final byte IFA_F_NODAD = 0x02;
    private static final int RTA_DST = 1;
    private static final int RTA_OIF = 4;
    private static final int RTA_GATEWAY = 5;
    private static final int RTA_PRIORITY = 6;
    private static final int RTA_TABLE = 15;
    private static final int IFF_UP = 0x1;
    private static final int RT_SCOPE_UNIVERSE = 0;
    private static final int RT_SCOPE_LINK = 253;
    private static final int RT_SCOPE_NOWHERE = 255;
    private static final int RTN_UNICAST = 1;
    private static final int RTN_LOCAL = 2;
    private static final int AF_UNSPEC = 0;
    /** Sizes of ifinfomsg, ifaddrmsg and rtmsg. */
    private static final int IFINFOMSG = 16;
    private static final int IFADDRMSG = 8;
    private static final int RTMSG = 12;
    /** A dump's parts fit: the kernel sizes them up to 32 KiB when the reader offers that much. */
    private static final int BUFFER = 64 << 10;
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(5);

    private final int fd;
    private final Arena arena;
    private final MemorySegment state;
    private final MemorySegment request;
    private final MemorySegment answer;
    private final MemorySegment kernel;
    private int sequence;
    private boolean closed;

    private RouteNetlink(int fd, Arena arena) {
        this.fd = fd;
        this.arena = arena;
        this.state = Syscalls.newCallState(arena);
        this.request = arena.allocate(BUFFER, 8);
        this.answer = arena.allocate(BUFFER, 8);
        this.kernel = arena.allocate(Syscalls.SOCKADDR_NL); // all zero: pid 0 is the kernel
        kernel.set(ValueLayout.JAVA_SHORT, 0, (short) Syscalls.AF_NETLINK);
    }

    /**
     * Opens a NETLINK_ROUTE socket in the calling thread's network namespace.
     *
     * @throws SystemCallException           when the socket cannot be made or bound
     * @throws UnsupportedOperationException where native access or the platform rules FFM out
     */
    public static RouteNetlink open() throws IOException {
        Syscalls.ensureAvailable("rtnetlink");
        Arena arena = Arena.ofShared();
        int fd = -1;
        try {
            MemorySegment state = Syscalls.newCallState(arena);
            fd = Syscalls.socket(state, Syscalls.AF_NETLINK, Syscalls.SOCK_RAW | Syscalls.SOCK_CLOEXEC,
                    Syscalls.NETLINK_ROUTE);
            if (fd < 0) {
                throw Errno.networkFailure(Errno.Subject.LINK, "socket(AF_NETLINK, NETLINK_ROUTE)",
                        Syscalls.errno(state), null);
            }
            MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_INT, 1);
            // Best effort: the kernel's explanation in errors, and acks without a copy of our request.
            Syscalls.setsockopt(state, fd, Syscalls.SOL_NETLINK, Syscalls.NETLINK_EXT_ACK, one);
            Syscalls.setsockopt(state, fd, Syscalls.SOL_NETLINK, Syscalls.NETLINK_CAP_ACK, one);
            MemorySegment timeout = arena.allocate(Syscalls.TIMEVAL);
            timeout.set(ValueLayout.JAVA_LONG, 0, ANSWER_TIMEOUT.toSeconds());
            if (Syscalls.setsockopt(state, fd, Syscalls.SOL_SOCKET, Syscalls.SO_RCVTIMEO, timeout) != 0) {
                throw Errno.networkFailure(Errno.Subject.LINK, "setsockopt(SO_RCVTIMEO) on the netlink socket",
                        Syscalls.errno(state), null);
            }
            MemorySegment local = arena.allocate(Syscalls.SOCKADDR_NL);
            local.set(ValueLayout.JAVA_SHORT, 0, (short) Syscalls.AF_NETLINK);
            if (Syscalls.bind(state, fd, local, (int) local.byteSize()) != 0) {
                throw Errno.networkFailure(Errno.Subject.LINK, "bind of the netlink socket", Syscalls.errno(state),
                        null);
            }
            return new RouteNetlink(fd, arena);
        } catch (IOException | RuntimeException | Error e) {
            if (fd >= 0) {
                Syscalls.close(fd);
            }
            arena.close();
            throw e;
        }
    }

    // ---- links ----

    /** The interface index of {@code device} in this namespace. */
    public synchronized int linkIndex(String device) throws IOException {
        return index(device, Errno.Subject.LINK, "looking up the index of " + device);
    }

    /** Sets {@code device} up or down. */
    public synchronized void setUp(String device, boolean up) throws IOException {
        String what = "setting link " + device + (up ? " up" : " down");
        int index = index(device, Errno.Subject.LINK, what);
        Message m = begin(RTM_NEWLINK, (short) (NLM_F_REQUEST | NLM_F_ACK), IFINFOMSG);
        m.body().set(ValueLayout.JAVA_INT, 4, index);
        m.body().set(ValueLayout.JAVA_INT, 8, up ? IFF_UP : 0);
        m.body().set(ValueLayout.JAVA_INT, 12, IFF_UP); // ifi_change: only this flag
        exchange(m, Errno.Subject.LINK, what, null);
    }

    /** Sets the MTU of {@code device}: 68 (IPv4's minimum) to 65535; IPv6 needs at least 1280. */
    public synchronized void setMtu(String device, int mtu) throws IOException {
        if (mtu < 68 || mtu > 65_535) {
            throw new InvalidArgumentException("mtu", mtu, "must be between 68 and 65535 (IPv6 needs 1280 or more)");
        }
        String what = "setting the mtu of " + device + " to " + mtu;
        int index = index(device, Errno.Subject.LINK, what);
        Message m = begin(RTM_NEWLINK, (short) (NLM_F_REQUEST | NLM_F_ACK), IFINFOMSG);
        m.body().set(ValueLayout.JAVA_INT, 4, index);
        m.putInt(IFLA_MTU, mtu);
        exchange(m, Errno.Subject.LINK, what, null);
    }

    /**
     * Sends {@code RTM_SETLINK} for {@code device} (its ifinfomsg names it by index; nothing else in the header is
     * changed) carrying {@code attributes}: rtattrs already encoded, each padded to 4 bytes, e.g. an
     * {@code IFLA_VFINFO_LIST} nest (see {@code io.isthmus.fastpath.sriov.VfAttributes}). {@code what} names the
     * change in errors. Returns once the kernel applied it.
     *
     * @throws SystemCallException with the kernel's errno and explanation, e.g. EOPNOTSUPP where the device's driver
     *                             does not implement the change
     */
    public synchronized void setLinkAttributes(String device, byte[] attributes, String what) throws IOException {
        if (attributes.length == 0 || attributes.length % 4 != 0 || attributes.length > BUFFER / 2) {
            throw new InvalidArgumentException("attributes", attributes.length + " bytes",
                    "must be whole rtattrs padded to 4 bytes, at most " + BUFFER / 2 + " bytes");
        }
        int index = index(device, Errno.Subject.LINK, what);
        Message m = begin(RTM_SETLINK, (short) (NLM_F_REQUEST | NLM_F_ACK), IFINFOMSG);
        m.body().set(ValueLayout.JAVA_INT, 4, index);
        m.putRaw(attributes);
        exchange(m, Errno.Subject.LINK, what, null);
    }

    // ---- addresses ----

    /**
     * Adds {@code address} (host bits and prefix length, e.g. {@code 10.99.0.1/24}) to {@code device}; the kernel
     * also adds the route to its subnet through the device. IPv6 addresses skip duplicate address detection
     * ({@code nodad}); the kernel still finishes them a moment later, which {@link #awaitUsable} waits for.
     *
     * @throws SystemCallException EEXIST when the device has it already
     */
    public synchronized void addAddress(String device, IpPrefix address) throws IOException {
        changeAddress(RTM_NEWADDR, (short) (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), device, address,
                "adding address " + address + " to " + device);
    }

    /** Removes {@code address} from {@code device}; EADDRNOTAVAIL when it has no such address. */
    public synchronized void deleteAddress(String device, IpPrefix address) throws IOException {
        changeAddress(RTM_DELADDR, (short) (NLM_F_REQUEST | NLM_F_ACK), device, address,
                "deleting address " + address + " from " + device);
    }

    private void changeAddress(short type, short flags, String device, IpPrefix address, String what)
            throws IOException {
        int index = index(device, Errno.Subject.ADDRESS, what);
        Message m = begin(type, flags, IFADDRMSG);
        m.body().set(ValueLayout.JAVA_BYTE, 0, family(address.address()));
        m.body().set(ValueLayout.JAVA_BYTE, 1, (byte) address.length());
        if (!address.isIpv4()) {
            // No duplicate address detection: it would leave the address tentative (unusable as a source) for a
            // moment after the link comes up, and the address plan already makes addresses unique.
            m.body().set(ValueLayout.JAVA_BYTE, 2, IFA_F_NODAD);
        }
        m.body().set(ValueLayout.JAVA_INT, 4, index);
        m.put(IFA_LOCAL, address.address().getAddress());
        m.put(IFA_ADDRESS, address.address().getAddress());
        exchange(m, Errno.Subject.ADDRESS, what, null);
    }

    /**
     * Whether the kernel would deliver a packet to {@code address} locally, i.e. the address is assigned here and
     * ready ({@code ip route get ADDRESS} answers {@code local}).
     */
    public synchronized boolean isLocal(InetAddress address) throws IOException {
        String what = "looking up the route to " + address.getHostAddress();
        Message m = begin(RTM_GETROUTE, NLM_F_REQUEST, RTMSG);
        m.body().set(ValueLayout.JAVA_BYTE, 0, family(address));
        m.body().set(ValueLayout.JAVA_BYTE, 1, (byte) (address.getAddress().length * 8));
        m.put(RTA_DST, address.getAddress());
        int[] type = {0};
        try {
            exchange(m, Errno.Subject.ROUTE, what, answer -> type[0] = answer.body().get(ValueLayout.JAVA_BYTE, 7));
        } catch (SystemCallException e) {
            if (e.errno() == Errno.ENETUNREACH || e.errno() == Errno.EHOSTUNREACH) {
                return false; // no route at all
            }
            throw e;
        }
        return type[0] == RTN_LOCAL;
    }

    /**
     * Waits until {@code address}, just added, is usable ({@link #isLocal}). IPv6 addresses need this: the kernel
     * finishes them (the local route) in a work queue shortly after they are added or their link comes up, so a
     * packet to them or a socket sending from them can fail in that moment; IPv4 addresses are usable at once.
     *
     * @throws SystemCallException when it is not usable within {@code timeout} (ETIMEDOUT)
     */
    public void awaitUsable(InetAddress address, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!isLocal(address)) {
            if (System.nanoTime() - deadline > 0) {
                throw new SystemCallException("address " + address.getHostAddress() + " did not become usable within "
                        + timeout.toMillis() + " ms: is it assigned to a device that is up?", Errno.ETIMEDOUT);
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for " + address.getHostAddress());
            }
        }
    }

    /** The IPv4 and IPv6 addresses of {@code device}, as the kernel lists them. */
    public synchronized List<IpPrefix> addresses(String device) throws IOException {
        String what = "listing the addresses of " + device;
        int index = index(device, Errno.Subject.ADDRESS, what);
        Message m = begin(RTM_GETADDR, (short) (NLM_F_REQUEST | NLM_F_DUMP), IFADDRMSG);
        List<IpPrefix> found = new ArrayList<>();
        exchange(m, Errno.Subject.ADDRESS, what, answer -> {
            MemorySegment body = answer.body();
            if (answer.type() != RTM_NEWADDR || body.get(ValueLayout.JAVA_INT, 4) != index) {
                return;
            }
            int length = Byte.toUnsignedInt(body.get(ValueLayout.JAVA_BYTE, 1));
            Map<Integer, byte[]> attributes = answer.attributes(IFADDRMSG);
            byte[] bytes = attributes.getOrDefault(IFA_LOCAL, attributes.get(IFA_ADDRESS));
            if (bytes != null) {
                found.add(new IpPrefix(address(bytes), length));
            }
        });
        return List.copyOf(found);
    }

    // ---- routes ----

    /**
     * Adds {@code route}; EEXIST ("route already exists") when the table has one to that destination and metric,
     * whoever made it ({@link SystemCallException#alreadyExists()}): it never replaces a route.
     */
    public synchronized void addRoute(Route route) throws IOException {
        changeRoute(RTM_NEWROUTE, (short) (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), route,
                "adding route " + route);
    }

    /** Adds {@code route}, or replaces the one to the same destination (and metric) in its table. */
    public synchronized void replaceRoute(Route route) throws IOException {
        changeRoute(RTM_NEWROUTE, (short) (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE), route,
                "replacing route " + route);
    }

    /**
     * Deletes {@code route}: the one to its destination through its device with its protocol (a route someone else
     * made there is left alone); ESRCH ("no such route") when there is none. A metric of 0 matches any metric.
     */
    public synchronized void deleteRoute(Route route) throws IOException {
        changeRoute(RTM_DELROUTE, (short) (NLM_F_REQUEST | NLM_F_ACK), route, "deleting route " + route);
    }

    private void changeRoute(short type, short flags, Route route, String what) throws IOException {
        int index = index(route.device(), Errno.Subject.ROUTE, what);
        boolean delete = type == RTM_DELROUTE;
        Message m = begin(type, flags, RTMSG);
        MemorySegment body = m.body();
        body.set(ValueLayout.JAVA_BYTE, 0, family(route.destination().address()));
        body.set(ValueLayout.JAVA_BYTE, 1, (byte) route.destination().length());
        body.set(ValueLayout.JAVA_BYTE, 4, (byte) (route.table() < 256 ? route.table() : 0));
        // A delete matches the route's protocol and any scope (NOWHERE); an add says its protocol, link scope
        // without a gateway (the destination is on the link), universe with one.
        body.set(ValueLayout.JAVA_BYTE, 5, (byte) route.protocol());
        int scope = delete ? RT_SCOPE_NOWHERE : route.gateway().isPresent() ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        body.set(ValueLayout.JAVA_BYTE, 6, (byte) scope);
        body.set(ValueLayout.JAVA_BYTE, 7, (byte) RTN_UNICAST);
        m.putInt(RTA_TABLE, route.table());
        m.put(RTA_DST, route.destination().address().getAddress());
        m.putInt(RTA_OIF, index);
        route.gateway().ifPresent(gateway -> m.put(RTA_GATEWAY, gateway.getAddress()));
        if (route.metric() != 0) {
            m.putInt(RTA_PRIORITY, route.metric());
        }
        exchange(m, Errno.Subject.ROUTE, what, null);
    }

    /**
     * The unicast routes of {@code table} (IPv4 and IPv6) that go out through one device, e.g. to compare with what
     * should be installed. Routes the kernel made for addresses are included (protocol kernel); multipath routes are
     * not.
     */
    public synchronized List<Route> routes(int table) throws IOException {
        if (table < 1 || table == 253 || table == 255) {
            throw new InvalidArgumentException("route table", Integer.toUnsignedString(table),
                    "must be 1..2^31-1 and not the kernel's own local (255) or default (253) table");
        }
        String what = "listing the routes of table " + table;
        Message m = begin(RTM_GETROUTE, (short) (NLM_F_REQUEST | NLM_F_DUMP), RTMSG);
        m.body().set(ValueLayout.JAVA_BYTE, 0, (byte) AF_UNSPEC);
        record Raw(byte[] destination, int length, int oif, byte[] gateway, int table, int metric, int protocol) {
        }
        List<Raw> raw = new ArrayList<>();
        exchange(m, Errno.Subject.ROUTE, what, answer -> {
            MemorySegment body = answer.body();
            if (answer.type() != RTM_NEWROUTE || body.get(ValueLayout.JAVA_BYTE, 7) != RTN_UNICAST) {
                return;
            }
            int family = body.get(ValueLayout.JAVA_BYTE, 0);
            int length = Byte.toUnsignedInt(body.get(ValueLayout.JAVA_BYTE, 1));
            Map<Integer, byte[]> attributes = answer.attributes(RTMSG);
            int routeTable = attributes.containsKey(RTA_TABLE) ? intOf(attributes.get(RTA_TABLE))
                    : Byte.toUnsignedInt(body.get(ValueLayout.JAVA_BYTE, 4));
            int metric = attributes.containsKey(RTA_PRIORITY) ? intOf(attributes.get(RTA_PRIORITY)) : 0;
            if (routeTable != table || !attributes.containsKey(RTA_OIF) || metric < 0) {
                return; // not ours to list: another table, no device (multipath), a metric past 2^31
            }
            byte[] destination = attributes.getOrDefault(RTA_DST, new byte[family == Syscalls.AF_INET ? 4 : 16]);
            raw.add(new Raw(destination, length, intOf(attributes.get(RTA_OIF)), attributes.get(RTA_GATEWAY),
                    routeTable, metric, Byte.toUnsignedInt(body.get(ValueLayout.JAVA_BYTE, 5))));
        });
        Map<Integer, String> names = new HashMap<>();
        List<Route> routes = new ArrayList<>(raw.size());
        for (Raw r : raw) {
            String device = names.get(r.oif());
            if (device == null) {
                device = linkName(r.oif());
                names.put(r.oif(), device);
            }
            routes.add(new Route(new IpPrefix(address(r.destination()), r.length()), device,
                    Optional.ofNullable(r.gateway()).map(RouteNetlink::address), r.table(), r.metric(), r.protocol()));
        }
        return List.copyOf(routes);
    }

    private String linkName(int index) throws IOException {
        Message m = begin(RTM_GETLINK, NLM_F_REQUEST, IFINFOMSG);
        m.body().set(ValueLayout.JAVA_INT, 4, index);
        String[] name = {"if" + index};
        exchange(m, Errno.Subject.LINK, "looking up device #" + index, answer -> {
            byte[] bytes = answer.attributes(IFINFOMSG).get(IFLA_IFNAME);
            if (bytes != null) {
                name[0] = new String(bytes, 0, Math.max(0, bytes.length - 1), StandardCharsets.UTF_8);
            }
        });
        return name[0];
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Syscalls.close(fd);
            arena.close();
        }
    }

    // ---- messages ----

    private int index(String device, Errno.Subject subject, String what) throws IOException {
        requireDevice(device);
        Message m = begin(RTM_GETLINK, NLM_F_REQUEST, IFINFOMSG);
        m.putString(IFLA_IFNAME, device);
        int[] index = {0};
        exchange(m, subject, what + ": looking up device " + device, answer -> index[0] = answer.body().get(
                ValueLayout.JAVA_INT, 4));
        return index[0];
    }

    private static void requireDevice(String device) {
        if (device == null || device.isEmpty()) {
            throw new InvalidArgumentException("device", device, "must name a network device");
        }
        if (device.getBytes(StandardCharsets.UTF_8).length >= Syscalls.IFNAMSIZ) {
            throw new InvalidArgumentException("device", device, "is longer than 15 bytes, so no device has it");
        }
    }

    private Message begin(short type, short flags, int headerSize) throws ClosedChannelException {
        if (closed) {
            throw new ClosedChannelException();
        }
        request.asSlice(0, NLMSG_HDRLEN + headerSize).fill((byte) 0);
        request.set(ValueLayout.JAVA_SHORT, 4, type);
        request.set(ValueLayout.JAVA_SHORT, 6, flags);
        request.set(ValueLayout.JAVA_INT, 8, ++sequence);
        return new Message(request, NLMSG_HDRLEN + headerSize);
    }

    /** A request being built in {@link #request}: the nlmsghdr, the family header, then attributes. */
    private static final class Message {
        private final MemorySegment buffer;
        private int length;

        Message(MemorySegment buffer, int length) {
            this.buffer = buffer;
            this.length = length;
        }

        MemorySegment body() {
            return buffer.asSlice(NLMSG_HDRLEN);
        }

        void put(int type, byte[] value) {
            int attributeLength = 4 + value.length;
            buffer.set(ValueLayout.JAVA_SHORT, length, (short) attributeLength);
            buffer.set(ValueLayout.JAVA_SHORT, length + 2, (short) type);
            MemorySegment.copy(value, 0, buffer, ValueLayout.JAVA_BYTE, length + 4, value.length);
            int aligned = align(attributeLength);
            buffer.asSlice(length + attributeLength, aligned - attributeLength).fill((byte) 0);
            length += aligned;
        }

        /** Appends encoded, padded attributes as they are. */
        void putRaw(byte[] attributes) {
            MemorySegment.copy(attributes, 0, buffer, ValueLayout.JAVA_BYTE, length, attributes.length);
            length += attributes.length;
        }

        void putInt(int type, int value) {
            byte[] bytes = new byte[4];
            MemorySegment.ofArray(bytes).set(ValueLayout.JAVA_INT_UNALIGNED, 0, value);
            put(type, bytes);
        }

        void putString(int type, String value) {
            byte[] text = value.getBytes(StandardCharsets.UTF_8);
            byte[] withNul = new byte[text.length + 1];
            System.arraycopy(text, 0, withNul, 0, text.length);
            put(type, withNul);
        }

        int finish() {
            buffer.set(ValueLayout.JAVA_INT, 0, length);
            return length;
        }
    }

    /** One message of an answer: its type and payload. */
    private record Answer(short type, MemorySegment payload) {
        MemorySegment body() {
            return payload;
        }

        /** The attributes after a family header of {@code headerSize} bytes; the last of a type wins. */
        Map<Integer, byte[]> attributes(int headerSize) {
            Map<Integer, byte[]> attributes = new HashMap<>();
            long at = align(headerSize);
            while (at + 4 <= payload.byteSize()) {
                int length = Short.toUnsignedInt(payload.get(ValueLayout.JAVA_SHORT, at));
                int type = Short.toUnsignedInt(payload.get(ValueLayout.JAVA_SHORT, at + 2)) & 0x3fff;
                if (length < 4 || at + length > payload.byteSize()) {
                    break;
                }
                attributes.put(type, payload.asSlice(at + 4, length - 4).toArray(ValueLayout.JAVA_BYTE));
                at += align(length);
            }
            return attributes;
        }
    }

    /**
     * Sends {@code m} and reads answers until the acknowledgement (or the end of a dump), giving every data message
     * to {@code onAnswer}; an error acknowledgement becomes a {@link SystemCallException}.
     */
    private void exchange(Message m, Errno.Subject subject, String what, Consumer<Answer> onAnswer)
            throws IOException {
        int length = m.finish();
        int seq = sequence;
        boolean dump = (request.get(ValueLayout.JAVA_SHORT, 6) & NLM_F_DUMP) == NLM_F_DUMP;
        while (Syscalls.sendto(state, fd, request, length, 0, kernel, (int) kernel.byteSize()) < 0) {
            int errno = Syscalls.errno(state);
            if (errno != Errno.EINTR) {
                throw Errno.networkFailure(subject, what + ": sending the netlink request", errno, null);
            }
        }
        boolean acked = (request.get(ValueLayout.JAVA_SHORT, 6) & NLM_F_ACK) != 0;
        while (true) {
            long received = Syscalls.recv(state, fd, answer, answer.byteSize(), 0);
            if (received < 0) {
                int errno = Syscalls.errno(state);
                if (errno == Errno.EINTR) {
                    continue;
                }
                if (errno == Errno.EAGAIN) {
                    throw new SystemCallException(what + " failed: no answer from the kernel within "
                            + ANSWER_TIMEOUT.toSeconds() + " s", errno);
                }
                throw Errno.networkFailure(subject, what + ": receiving the netlink answer", errno, null);
            }
            long at = 0;
            while (at + NLMSG_HDRLEN <= received) {
                int messageLength = answer.get(ValueLayout.JAVA_INT, at);
                short type = answer.get(ValueLayout.JAVA_SHORT, at + 4);
                short flags = answer.get(ValueLayout.JAVA_SHORT, at + 6);
                int messageSeq = answer.get(ValueLayout.JAVA_INT, at + 8);
                if (messageLength < NLMSG_HDRLEN || at + messageLength > received) {
                    throw new SystemCallException(what + " failed: a malformed netlink answer", Errno.EINVAL);
                }
                MemorySegment payload = answer.asSlice(at + NLMSG_HDRLEN, messageLength - NLMSG_HDRLEN);
                at += align(messageLength);
                if (messageSeq != seq) {
                    continue; // an answer to an earlier request that timed out
                }
                if (type == NLMSG_ERROR) {
                    int error = payload.get(ValueLayout.JAVA_INT, 0);
                    if (error == 0) {
                        return; // the acknowledgement
                    }
                    throw Errno.networkFailure(subject, what, -error, kernelMessage(payload, flags));
                }
                if (type == NLMSG_DONE) {
                    if (dump) {
                        return;
                    }
                    continue;
                }
                if (onAnswer != null) {
                    onAnswer.accept(new Answer(type, payload));
                }
                if (!dump && !acked && (flags & NLM_F_MULTI) == 0) {
                    return; // a GET without an ack: the one answer is all
                }
            }
        }
    }

    /** The extended ack's text (NLMSGERR_ATTR_MSG), or null. */
    private static String kernelMessage(MemorySegment payload, short flags) {
        if ((flags & NLM_F_ACK_TLVS) == 0) {
            return null;
        }
        long at = 4; // the error code, then the request's header (and its body unless capped)
        int echoedLength = payload.get(ValueLayout.JAVA_INT, at);
        at += (flags & NLM_F_CAPPED) != 0 ? NLMSG_HDRLEN : align(echoedLength);
        while (at + 4 <= payload.byteSize()) {
            int length = Short.toUnsignedInt(payload.get(ValueLayout.JAVA_SHORT, at));
            int type = Short.toUnsignedInt(payload.get(ValueLayout.JAVA_SHORT, at + 2)) & 0x3fff;
            if (length < 4 || at + length > payload.byteSize()) {
                return null;
            }
            if (type == NLMSGERR_ATTR_MSG) {
                return payload.asSlice(at + 4, length - 4).getString(0);
            }
            at += align(length);
        }
        return null;
    }

    private static int align(int length) {
        return (length + 3) & ~3;
    }

    private static long align(long length) {
        return (length + 3) & ~3L;
    }

    private static byte family(InetAddress address) {
        return (byte) (address instanceof Inet4Address ? Syscalls.AF_INET : Syscalls.AF_INET6);
    }

    private static int intOf(byte[] bytes) {
        return MemorySegment.ofArray(bytes).get(ValueLayout.JAVA_INT_UNALIGNED, 0);
    }

    private static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("the kernel gave an address of " + bytes.length + " bytes", e);
        }
    }

    @Override
    public String toString() {
        return "RouteNetlink[fd " + fd + (closed ? ", closed" : "") + "]";
    }
}
