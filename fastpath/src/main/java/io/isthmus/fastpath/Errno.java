package io.isthmus.fastpath;

import java.io.IOException;
import java.net.BindException;
import java.net.SocketException;

/** The Linux errno values our socket calls meet, their names, and exceptions that say what to do about them. */
final class Errno {
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int ESRCH = 3;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int E2BIG = 7;
    static final int ENXIO = 6;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int EFAULT = 14;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    static final int ENFILE = 23;
    static final int EMFILE = 24;
    static final int ENOSPC = 28;
    static final int ERANGE = 34;
    static final int ENOSYS = 38;
    static final int ENOTSOCK = 88;
    static final int EDESTADDRREQ = 89;
    static final int EMSGSIZE = 90;
    static final int ENOPROTOOPT = 92;
    static final int EPROTONOSUPPORT = 93;
    static final int EOPNOTSUPP = 95;
    static final int EAFNOSUPPORT = 97;
    static final int EADDRINUSE = 98;
    static final int EADDRNOTAVAIL = 99;
    static final int ENETDOWN = 100;
    static final int ENETUNREACH = 101;
    static final int ENOBUFS = 105;
    static final int ETIMEDOUT = 110;
    static final int ECONNREFUSED = 111;
    static final int EHOSTUNREACH = 113;

    private Errno() {
    }

    static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EINTR -> "EINTR";
            case EIO -> "EIO";
            case E2BIG -> "E2BIG";
            case ENXIO -> "ENXIO";
            case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY";
            case EEXIST -> "EEXIST";
            case ENODEV -> "ENODEV";
            case EINVAL -> "EINVAL";
            case ENFILE -> "ENFILE";
            case EMFILE -> "EMFILE";
            case ENOSPC -> "ENOSPC";
            case ERANGE -> "ERANGE";
            case ENOSYS -> "ENOSYS";
            case ENOTSOCK -> "ENOTSOCK";
            case EDESTADDRREQ -> "EDESTADDRREQ";
            case EMSGSIZE -> "EMSGSIZE";
            case EPROTONOSUPPORT -> "EPROTONOSUPPORT";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            case EAFNOSUPPORT -> "EAFNOSUPPORT";
            case EADDRINUSE -> "EADDRINUSE";
            case EADDRNOTAVAIL -> "EADDRNOTAVAIL";
            case ENETDOWN -> "ENETDOWN";
            case ENETUNREACH -> "ENETUNREACH";
            case ENOBUFS -> "ENOBUFS";
            case ETIMEDOUT -> "ETIMEDOUT";
            case ECONNREFUSED -> "ECONNREFUSED";
            case EHOSTUNREACH -> "EHOSTUNREACH";
            default -> "errno " + errno;
        };
    }

    /**
     * Whether {@code sendmmsg} failing with {@code errno} concerns only the message it stopped at (its destination,
     * its size, a full queue), so the messages after it can still go; otherwise the socket itself is unusable.
     */
    /** The errors of a UDP_SEGMENT run the route cannot carry whole (too large for the path MTU, no checksum offload). */
    static boolean refusesRun(int errno) {
        return errno == EINVAL || errno == EMSGSIZE || errno == EIO;
    }

    static boolean concernsOneMessage(int errno) {
        return switch (errno) {
            // EIO: a datagram with UDP_SEGMENT to a device that cannot checksum it (so, that message alone).
            case EIO, EMSGSIZE, ENETUNREACH, EHOSTUNREACH, EACCES, EPERM, EINVAL, EAFNOSUPPORT, EDESTADDRREQ,
                 EADDRNOTAVAIL, ECONNREFUSED, ENOBUFS, ENOMEM, EAGAIN -> true;
            default -> false;
        };
    }

    /** {@code socket(2)} failed. */
    static SocketException socketFailure(String what, int errno) {
        String advice = switch (errno) {
            case EAFNOSUPPORT, EPROTONOSUPPORT -> "this kernel has that address family turned off (IPv6 disabled?)";
            case EMFILE, ENFILE -> "too many open files: raise the limit (ulimit -n, LimitNOFILE) or close sockets";
            case EACCES, EPERM -> "the process is not permitted to create sockets (a seccomp or LSM policy?)";
            case ENOSYS -> "the kernel lacks it; use the NIO path";
            default -> null;
        };
        return new SocketException(message(what, errno, advice));
    }

    /** {@code bind(2)} of {@code address} failed; a {@link BindException} whose message says what to change. */
    static BindException bindFailure(String address, int errno) {
        String message = switch (errno) {
            case EADDRINUSE -> "udp address " + address + " is already in use (EADDRINUSE): another socket holds it;"
                    + " choose another port or stop what holds it";
            case EACCES, EPERM -> "binding udp address " + address + " needs privileges (" + name(errno) + "):"
                    + " ports below 1024 need root or CAP_NET_BIND_SERVICE; use a higher port or grant the capability";
            case EADDRNOTAVAIL -> "udp address " + address + " is not an address of this node (EADDRNOTAVAIL):"
                    + " listen on an address an interface here has, or on the wildcard";
            default -> message("bind to udp address " + address, errno, null);
        };
        return new BindException(message);
    }

    /** Any other failed call: what failed, the errno by name, and advice where there is some. */
    static IOException failure(String what, int errno) {
        String advice = switch (errno) {
            case ENOSYS -> "the kernel lacks it; use the NIO path";
            case EPERM, EACCES -> "not permitted here (a seccomp or LSM policy?); use the NIO path";
            case ENOMEM, ENOBUFS -> "the kernel is short of memory";
            default -> null;
        };
        return new IOException(message(what, errno, advice));
    }

    /** What a network configuration request was about, so that one errno gets the advice that fits it. */
    enum Subject {
        TUN, LINK, ADDRESS, ROUTE, NAMESPACE
    }

    /**
     * A TUN, link, address, route or namespace request failed: what was asked, the errno by name, what to do, and
     * the kernel's own explanation when netlink gave one ({@code kernelMessage}, may be null).
     */
    static SystemCallException networkFailure(Subject subject, String what, int errno, String kernelMessage) {
        String advice = switch (errno) {
            case EPERM, EACCES -> "needs CAP_NET_ADMIN (run as root, or grant the process that capability)";
            case EEXIST -> switch (subject) {
                case ROUTE -> "route already exists: replace it instead, or delete it first";
                case ADDRESS -> "the address is already assigned to that device";
                case TUN, LINK -> "a device of that name already exists";
                case NAMESPACE -> "it already exists";
            };
            case ENODEV -> "no such network device in this network namespace: create it first, or check the name";
            case ESRCH -> subject == Subject.ROUTE ? "no such route (already deleted, or another table or metric?)"
                    : "no such object";
            case EADDRNOTAVAIL -> subject == Subject.ADDRESS ? "the device has no such address"
                    : "the address is not one of this namespace's";
            case ENETUNREACH -> "the gateway is not on a network directly connected to that device: add an address"
                    + " on the gateway's subnet first, or route without a gateway";
            case ENETDOWN -> "the device is down: set it up first";
            case EBUSY -> subject == Subject.TUN ? "the device is in use: opened by another process, or opened"
                    + " already with other flags (multi-queue and single-queue do not mix)" : "the device is busy";
            case ENOENT -> switch (subject) {
                case TUN -> "/dev/net/tun is missing: load the tun module (modprobe tun) or make the node"
                        + " (mknod /dev/net/tun c 10 200)";
                case NAMESPACE -> "no such network namespace: create it first (ip netns add NAME)";
                case LINK, ADDRESS, ROUTE -> "no such object";
            };
            case ENXIO -> "no such device";
            case EINVAL -> subject == Subject.TUN ? "the kernel refused the flags (a device of that name exists"
                    + " and is not a TUN device with these flags?)" : "the kernel refused the request as invalid";
            case ERANGE -> "a value is out of the range the kernel accepts";
            case EMFILE, ENFILE -> "too many open files: raise the limit (ulimit -n, LimitNOFILE) or close some";
            case ENOMEM, ENOBUFS -> "the kernel is short of memory";
            case EOPNOTSUPP -> "this kernel or device does not support it";
            default -> null;
        };
        String kernel = kernelMessage == null || kernelMessage.isBlank() ? "" : " (kernel: " + kernelMessage + ")";
        return new SystemCallException(message(what, errno, advice) + kernel, errno);
    }

    /** What a libbpf or bpf(2) request was about, so that one errno gets the advice that fits it. */
    enum BpfSubject {
        LOAD, ATTACH, MAP, PIN
    }

    /** A libbpf call failed: what was asked, the errno by name, and what to do about it. */
    static SystemCallException bpfFailure(BpfSubject subject, String what, int errno) {
        String advice = switch (errno) {
            case EPERM, EACCES -> "needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root); in a container,"
                    + " also a seccomp profile that allows bpf(2)";
            case EEXIST -> switch (subject) {
                case ATTACH -> "another XDP program is attached to the interface: detach it first"
                        + " (ip link set dev IFACE xdp off) or leave XDP off";
                case PIN -> "something is pinned there already: remove it, or stop the process that pinned it";
                case LOAD, MAP -> "it exists already";
            };
            case EOPNOTSUPP -> subject == BpfSubject.ATTACH
                    ? "the driver has no native XDP: use generic mode (Mode.GENERIC or AUTO)"
                    : "this kernel does not support it";
            case EINVAL -> switch (subject) {
                case LOAD -> "the kernel refused the program (the verifier's log is on standard error above)";
                case ATTACH -> "the kernel refused the attachment (an XDP program in the other mode on this"
                        + " interface, or an MTU too large for native XDP?)";
                case PIN -> "the path is not on a bpf filesystem: mount one (mount -t bpf bpf /sys/fs/bpf)";
                case MAP -> "the kernel refused the key or value";
            };
            case ENOENT -> subject == BpfSubject.MAP ? "no such entry" : "no such file, program or map";
            case ENODEV -> "no such network device in this network namespace: check the name";
            case E2BIG, ENOSPC -> subject == BpfSubject.MAP ? "the map is full: remove entries or raise max_entries"
                    + " in fastpath/bpf" : "too large for this kernel";
            case EBUSY -> subject == BpfSubject.ATTACH ? "another XDP program is attached to the interface in"
                    + " that mode: detach it first (ip link set dev IFACE xdp off) or leave XDP off"
                    : "busy: another process holds it";
            case ENOMEM -> "the kernel is short of memory (or RLIMIT_MEMLOCK is too low on a kernel before 5.11)";
            case ENOSYS -> "the kernel lacks bpf(2)";
            default -> null;
        };
        return new SystemCallException(message(what, errno, advice), errno);
    }

    private static String message(String what, int errno, String advice) {
        return what + " failed: " + name(errno) + (advice == null ? "" : "; " + advice);
    }
}
