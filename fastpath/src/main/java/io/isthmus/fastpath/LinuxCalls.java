package io.isthmus.fastpath;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The file, ioctl, poll, eventfd, setns and netlink calls that TUN devices, rtnetlink and network namespaces need,
 * beside the socket calls of {@link Syscalls} (whose platform and native-access checks come first: where those calls
 * are unavailable, so are these). Handles are resolved once when this class loads; every call that can fail takes a
 * capture-state segment from {@link Syscalls#newCallState} and {@link Syscalls#errno} reads its errno.
 *
 * <p>Buffers of {@link #read} and {@link #write} are raw addresses, so the hot path hands the kernel a caller's
 * segment at an offset without making a slice; the callers check the bounds and keep the memory reachable.
 */
final class LinuxCalls {
    // <fcntl.h>
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    // <poll.h>
    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;
    // <sys/eventfd.h>
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    // <sched.h>
    static final int CLONE_NEWNET = 0x40000000;
    // <linux/netlink.h>
    static final int AF_NETLINK = 16;
    static final int NETLINK_ROUTE = 0;
    static final int SOCK_RAW = 3;
    static final int SOL_NETLINK = 270;
    static final int NETLINK_CAP_ACK = 10;
    static final int NETLINK_EXT_ACK = 11;
    static final int NETLINK_GET_STRICT_CHK = 12;
    // <linux/if_tun.h>: _IOW('T', 202, int) and friends.
    static final long TUNSETIFF = 0x400454caL;
    static final long TUNGETFEATURES = 0x800454cfL;
    static final long TUNSETOFFLOAD = 0x400454d0L;
    static final long TUNSETVNETHDRSZ = 0x400454d8L;
    static final short IFF_TUN = 0x0001;
    static final short IFF_MULTI_QUEUE = 0x0100;
    static final short IFF_NO_PI = 0x1000;
    static final short IFF_VNET_HDR = 0x4000;
    static final int TUN_F_CSUM = 0x01;
    static final int TUN_F_TSO4 = 0x02;
    static final int TUN_F_TSO6 = 0x04;
    static final int TUN_F_TSO_ECN = 0x08;
    static final int TUN_F_USO4 = 0x20;
    static final int TUN_F_USO6 = 0x40;
    /** {@code IFNAMSIZ}: an interface name and its terminating NUL. */
    static final int IFNAMSIZ = 16;

    /** {@code struct ifreq}: the name, then a 24-byte union whose first member we use is {@code short ifr_flags}. */
    static final StructLayout IFREQ = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(IFNAMSIZ, ValueLayout.JAVA_BYTE).withName("ifr_name"),
            JAVA_SHORT.withName("ifr_flags"),
            MemoryLayout.paddingLayout(22));

    /** {@code struct pollfd}. */
    static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"),
            JAVA_SHORT.withName("revents"));

    /** {@code struct sockaddr_nl}. */
    static final StructLayout SOCKADDR_NL = MemoryLayout.structLayout(
            JAVA_SHORT.withName("nl_family"),
            JAVA_SHORT.withName("nl_pad"),
            JAVA_INT.withName("nl_pid"),
            JAVA_INT.withName("nl_groups"));

    private static final String UNAVAILABLE;
    private static final MethodHandle OPEN;
    private static final MethodHandle READ;
    private static final MethodHandle WRITE;
    private static final MethodHandle IOCTL_POINTER;
    private static final MethodHandle IOCTL_VALUE;
    private static final MethodHandle POLL;
    private static final MethodHandle EVENTFD;
    private static final MethodHandle SETNS;
    private static final MethodHandle SENDTO;
    private static final MethodHandle RECV;

    static {
        MethodHandle open = null;
        MethodHandle read = null;
        MethodHandle write = null;
        MethodHandle ioctlPointer = null;
        MethodHandle ioctlValue = null;
        MethodHandle poll = null;
        MethodHandle eventfd = null;
        MethodHandle setns = null;
        MethodHandle sendto = null;
        MethodHandle recv = null;
        String unavailable = Syscalls.unavailable().orElse(null);
        if (unavailable == null) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                // open and ioctl are variadic in C: the arguments after the fixed ones go as variadic ones.
                open = Syscalls.downcall(linker, libc, "open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
                        errno);
                read = Syscalls.downcall(linker, libc, "read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG),
                        errno);
                write = Syscalls.downcall(linker, libc, "write",
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), errno);
                ioctlPointer = Syscalls.downcall(linker, libc, "ioctl",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
                        Linker.Option.firstVariadicArg(2), errno);
                ioctlValue = Syscalls.downcall(linker, libc, "ioctl",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
                        Linker.Option.firstVariadicArg(2), errno);
                poll = Syscalls.downcall(linker, libc, "poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT),
                        errno);
                eventfd = Syscalls.downcall(linker, libc, "eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT),
                        errno);
                setns = Syscalls.downcall(linker, libc, "setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), errno);
                sendto = Syscalls.downcall(linker, libc, "sendto",
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT),
                        errno);
                recv = Syscalls.downcall(linker, libc, "recv",
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), errno);
            } catch (IllegalCallerException e) {
                unavailable = "native access is not enabled: add --enable-native-access=ALL-UNNAMED to the java"
                        + " command line";
            } catch (UnsupportedOperationException e) {
                unavailable = e.getMessage();
            }
        }
        UNAVAILABLE = unavailable;
        OPEN = open;
        READ = read;
        WRITE = write;
        IOCTL_POINTER = ioctlPointer;
        IOCTL_VALUE = ioctlValue;
        POLL = poll;
        EVENTFD = eventfd;
        SETNS = setns;
        SENDTO = sendto;
        RECV = recv;
    }

    private LinuxCalls() {
    }

    /** Why these calls cannot be used here, or empty when they can. */
    static Optional<String> unavailable() {
        return Optional.ofNullable(UNAVAILABLE);
    }

    /** Throws, naming {@code what} and the reason, when {@link #unavailable()} is not empty. */
    static void ensureAvailable(String what) {
        if (UNAVAILABLE != null) {
            throw new UnsupportedOperationException(what + " is not available: " + UNAVAILABLE);
        }
    }

    /** {@code path} is a NUL-terminated string. */
    static int open(MemorySegment state, MemorySegment path, int flags) {
        try {
            return (int) OPEN.invokeExact(state, path, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long read(MemorySegment state, int fd, long address, long length) {
        try {
            return (long) READ.invokeExact(state, fd, address, length);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long write(MemorySegment state, int fd, long address, long length) {
        try {
            return (long) WRITE.invokeExact(state, fd, address, length);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int ioctl(MemorySegment state, int fd, long request, MemorySegment argument) {
        try {
            return (int) IOCTL_POINTER.invokeExact(state, fd, request, argument);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int ioctl(MemorySegment state, int fd, long request, long argument) {
        try {
            return (int) IOCTL_VALUE.invokeExact(state, fd, request, argument);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int poll(MemorySegment state, MemorySegment fds, long count, int timeoutMillis) {
        try {
            return (int) POLL.invokeExact(state, fds, count, timeoutMillis);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int eventfd(MemorySegment state, int initial, int flags) {
        try {
            return (int) EVENTFD.invokeExact(state, initial, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int setns(MemorySegment state, int fd, int type) {
        try {
            return (int) SETNS.invokeExact(state, fd, type);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long sendto(MemorySegment state, int fd, MemorySegment buffer, long length, int flags,
                       MemorySegment address, int addressLength) {
        try {
            return (long) SENDTO.invokeExact(state, fd, buffer, length, flags, address, addressLength);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long recv(MemorySegment state, int fd, MemorySegment buffer, long length, int flags) {
        try {
            return (long) RECV.invokeExact(state, fd, buffer, length, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    private static RuntimeException unexpected(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new AssertionError("a downcall threw " + t, t);
    }
}
