package io.isthmus.fastpath;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
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
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Optional;

/**
 * The one holder of the Linux x86_64 (glibc or musl) system calls this module makes through FFM: the socket calls of
 * batched UDP, the file, ioctl, poll, eventfd, setns and netlink calls of TUN devices, rtnetlink and network
 * namespaces, and mount/if_nametoindex for XDP (libbpf's own calls are in {@link Libbpf}). Constants, struct layouts and one downcall handle per function, resolved once when this class loads. When they cannot be resolved (another OS, a missing symbol, native
 * access not enabled) every handle stays null and {@link #unavailable()} says why; nothing else here may be called.
 *
 * <p>Each call that can fail takes a capture-state segment first ({@link #newCallState}), from which {@link #errno}
 * reads the errno of that call. A segment must not serve two calls at once. Buffers of {@link #read} and {@link #write}
 * are raw addresses, so the hot path hands the kernel a caller's segment at an offset without making a slice; the
 * callers check the bounds and keep the memory reachable.
 */
final class Syscalls {
    // <bits/socket.h>, <asm-generic/socket.h>, <sys/socket.h>: the same values on x86_64 and the generic ABI.
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    static final int SO_REUSEPORT = 15;
    static final int SO_RCVTIMEO = 20;
    static final int MSG_TRUNC = 0x20;
    static final int MSG_WAITFORONE = 0x10000;
    static final int SHUT_RDWR = 2;
    // <linux/udp.h>: segmentation offload (Linux 4.18) and receive coalescing (Linux 5.0) of UDP.
    static final int SOL_UDP = 17;
    static final int UDP_SEGMENT = 103;
    static final int UDP_GRO = 104;
    /** {@code struct cmsghdr}: cmsg_len (size_t), cmsg_level, cmsg_type, then the data at 16. */
    static final int CMSG_DATA = 16;
    /** {@code CMSG_SPACE(sizeof(int))}, also {@code CMSG_SPACE(sizeof(uint16_t))}: the room one UDP cmsg takes. */
    static final int CMSG_SPACE_INT = 24;

    /** {@code struct iovec}. The base is written as a raw address, so refilling it on the hot path allocates nothing. */
    static final StructLayout IOVEC = MemoryLayout.structLayout(
            JAVA_LONG.withName("iov_base"),
            JAVA_LONG.withName("iov_len"));

    /** {@code struct msghdr}: 56 bytes, with padding after the 4-byte fields. */
    static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"),
            JAVA_INT.withName("msg_namelen"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"),
            JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"),
            JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"),
            MemoryLayout.paddingLayout(4));

    /** {@code struct mmsghdr}: a msghdr and the length the kernel moved for it; 64 bytes. */
    static final StructLayout MMSGHDR = MemoryLayout.structLayout(
            MSGHDR.withName("msg_hdr"),
            JAVA_INT.withName("msg_len"),
            MemoryLayout.paddingLayout(4));

    /** {@code struct sockaddr_in}: 16 bytes; port and address in network order. */
    static final StructLayout SOCKADDR_IN = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sin_family"),
            JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withName("sin_port"),
            MemoryLayout.sequenceLayout(4, JAVA_BYTE).withName("sin_addr"),
            MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("sin_zero"));

    /** {@code struct sockaddr_in6}: 28 bytes; big enough for either family, so it is the size of every address slot. */
    static final StructLayout SOCKADDR_IN6 = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sin6_family"),
            JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withName("sin6_port"),
            JAVA_INT.withName("sin6_flowinfo"),
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("sin6_addr"),
            JAVA_INT.withName("sin6_scope_id"));

    /** {@code struct timeval} for SO_RCVTIMEO. */
    static final StructLayout TIMEVAL = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"),
            JAVA_LONG.withName("tv_usec"));

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

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(groupElement("errno")).withInvokeExactBehavior();

    private static final String UNAVAILABLE;
    private static final MethodHandle SOCKET;
    private static final MethodHandle SETSOCKOPT;
    private static final MethodHandle BIND;
    private static final MethodHandle GETSOCKNAME;
    private static final MethodHandle RECVMMSG;
    private static final MethodHandle SENDMMSG;
    private static final MethodHandle SHUTDOWN;
    private static final MethodHandle CLOSE;
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
    private static final MethodHandle MOUNT;
    private static final MethodHandle IF_NAMETOINDEX;


    static {
        MethodHandle socket = null;
        MethodHandle setsockopt = null;
        MethodHandle bind = null;
        MethodHandle getsockname = null;
        MethodHandle recvmmsg = null;
        MethodHandle sendmmsg = null;
        MethodHandle shutdown = null;
        MethodHandle close = null;
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
        MethodHandle mount = null;
        MethodHandle ifNametoindex = null;
        String unavailable = platformProblem();
        Module module = Syscalls.class.getModule();
        if (unavailable == null && !module.isNativeAccessEnabled()) {
            // Checked first so the JVM's own warning never fires: we fall back instead, and say why.
            unavailable = noNativeAccess(module);
        }
        if (unavailable == null) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                socket = downcall(linker, libc, "socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), errno);
                setsockopt = downcall(linker, libc, "setsockopt",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), errno);
                bind = downcall(linker, libc, "bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), errno);
                getsockname = downcall(linker, libc, "getsockname",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), errno);
                recvmmsg = downcall(linker, libc, "recvmmsg",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS), errno);
                sendmmsg = downcall(linker, libc, "sendmmsg",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), errno);
                // Their failures change nothing we do, so they capture no errno.
                shutdown = downcall(linker, libc, "shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
                close = downcall(linker, libc, "close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
                // open and ioctl are variadic in C: the arguments after the fixed ones go as variadic ones.
                open = downcall(linker, libc, "open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
                        errno);
                read = downcall(linker, libc, "read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG),
                        errno);
                write = downcall(linker, libc, "write",
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), errno);
                ioctlPointer = downcall(linker, libc, "ioctl",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
                        Linker.Option.firstVariadicArg(2), errno);
                ioctlValue = downcall(linker, libc, "ioctl",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
                        Linker.Option.firstVariadicArg(2), errno);
                poll = downcall(linker, libc, "poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT),
                        errno);
                eventfd = downcall(linker, libc, "eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT),
                        errno);
                setns = downcall(linker, libc, "setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), errno);
                sendto = downcall(linker, libc, "sendto",
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT),
                        errno);
                recv = downcall(linker, libc, "recv",
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), errno);
                mount = downcall(linker, libc, "mount",
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS), errno);
                ifNametoindex = downcall(linker, libc, "if_nametoindex", FunctionDescriptor.of(JAVA_INT, ADDRESS),
                        errno);
            } catch (IllegalCallerException e) {
                unavailable = noNativeAccess(module); // --illegal-native-access=deny
            } catch (UnsupportedOperationException e) {
                unavailable = e.getMessage();
            }
        }
        UNAVAILABLE = unavailable;
        SOCKET = socket;
        SETSOCKOPT = setsockopt;
        BIND = bind;
        GETSOCKNAME = getsockname;
        RECVMMSG = recvmmsg;
        SENDMMSG = sendmmsg;
        SHUTDOWN = shutdown;
        CLOSE = close;
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
        MOUNT = mount;
        IF_NAMETOINDEX = ifNametoindex;
    }

    private Syscalls() {
    }

    /** Why these calls cannot be used here, or empty when they can. */
    static Optional<String> unavailable() {
        return Optional.ofNullable(UNAVAILABLE);
    }

    /** Throws, naming {@code what} ("batched UDP", "TUN") and the reason, when {@link #unavailable()} is not empty. */
    static void ensureAvailable(String what) {
        if (UNAVAILABLE != null) {
            throw new UnsupportedOperationException(what + " is not available: " + UNAVAILABLE);
        }
    }

    private static String platformProblem() {
        String os = System.getProperty("os.name", "?");
        String arch = System.getProperty("os.arch", "?");
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
            return "not Linux (" + os + "): recvmmsg/sendmmsg are Linux calls";
        }
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            return "not x86_64 (" + arch + "): the struct layouts here are only checked for Linux x86_64";
        }
        return null;
    }

    private static String noNativeAccess(Module module) {
        String name = module.isNamed() ? module.getName() : "ALL-UNNAMED";
        return "native access is not enabled for " + (module.isNamed() ? "module " + name : "the class path")
                + ": add --enable-native-access=" + name + " to the java command line";
    }

    /** A handle for libc's {@code name}; a missing symbol says which, and why it could be missing. */
    static MethodHandle downcall(Linker linker, SymbolLookup libc, String name, FunctionDescriptor descriptor,
                                         Linker.Option... options) {
        MemorySegment symbol = libc.find(name).orElseThrow(() -> new UnsupportedOperationException(
                "the C library has no '" + name + "' (too old a glibc, or not glibc/musl)"));
        return linker.downcallHandle(symbol, descriptor, options);
    }

    /** A segment to capture the errno of a call in; allocate one per thread that makes calls, and keep it. */
    static MemorySegment newCallState(java.lang.foreign.SegmentAllocator allocator) {
        return allocator.allocate(CALL_STATE);
    }

    static int errno(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }

    static int socket(MemorySegment state, int domain, int type, int protocol) {
        try {
            return (int) SOCKET.invokeExact(state, domain, type, protocol);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int setsockopt(MemorySegment state, int fd, int level, int name, MemorySegment value) {
        try {
            return (int) SETSOCKOPT.invokeExact(state, fd, level, name, value, Math.toIntExact(value.byteSize()));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int bind(MemorySegment state, int fd, MemorySegment address, int length) {
        try {
            return (int) BIND.invokeExact(state, fd, address, length);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code length} holds the size of {@code address} on entry and the size written on return. */
    static int getsockname(MemorySegment state, int fd, MemorySegment address, MemorySegment length) {
        try {
            return (int) GETSOCKNAME.invokeExact(state, fd, address, length);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int recvmmsg(MemorySegment state, int fd, MemorySegment vector, int count, int flags) {
        try {
            return (int) RECVMMSG.invokeExact(state, fd, vector, count, flags, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int sendmmsg(MemorySegment state, int fd, MemorySegment vector, int count, int flags) {
        try {
            return (int) SENDMMSG.invokeExact(state, fd, vector, count, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int shutdown(int fd, int how) {
        try {
            return (int) SHUTDOWN.invokeExact(fd, how);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw unexpected(t);
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

    /** {@code mount(2)}; every string NUL-terminated, {@code data} may be {@link MemorySegment#NULL}. */
    static int mount(MemorySegment state, MemorySegment source, MemorySegment target, MemorySegment type, long flags,
                     MemorySegment data) {
        try {
            return (int) MOUNT.invokeExact(state, source, target, type, flags, data);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The index of the interface {@code name} (NUL-terminated) in the calling thread's namespace; 0 if none. */
    static int ifNametoindex(MemorySegment state, MemorySegment name) {
        try {
            return (int) IF_NAMETOINDEX.invokeExact(state, name);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** Downcalls throw nothing checked; what can come out is a runtime exception (a closed arena) or an error. */
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
