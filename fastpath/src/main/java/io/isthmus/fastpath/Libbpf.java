package io.isthmus.fastpath;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The one holder of the libbpf ({@code libbpf.so.1}, Debian's libbpf1 1.1) calls this module makes through FFM: one
 * downcall handle per function, resolved once when this class loads. When the library or native access is missing
 * every handle stays null and {@link #unavailable()} says why; nothing else here may be called then.
 *
 * <p>libbpf 1.x reports errors by returning a negative errno (int functions) or NULL with {@code errno} set (pointer
 * functions); the wrappers here turn both into a non-negative errno the caller passes to {@link Errno#bpfFailure}.
 * Pointer functions therefore capture errno ({@link Syscalls#newCallState}).
 */
final class Libbpf {
    // <linux/if_link.h>
    static final int XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
    static final int XDP_FLAGS_SKB_MODE = 2;
    static final int XDP_FLAGS_DRV_MODE = 4;
    // XDP_ATTACHED_* of bpf_xdp_query_opts.attach_mode
    static final int XDP_ATTACHED_NONE = 0;
    static final int XDP_ATTACHED_DRV = 1;
    static final int XDP_ATTACHED_SKB = 2;
    static final int XDP_ATTACHED_HW = 3;
    static final int XDP_ATTACHED_MULTI = 4;
    // bpf_map_update_elem flags
    static final long BPF_ANY = 0;
    static final long BPF_EXIST = 2;

    /**
     * {@code struct bpf_xdp_query_opts} as libbpf 1.1 has it: sz, then prog_id, drv_prog_id, hw_prog_id, skb_prog_id
     * (u32 each) and attach_mode (u8); 32 bytes. Later libbpf versions append fields, and accept the shorter sz.
     */
    static final long XDP_QUERY_OPTS_BYTES = 32;
    static final long XDP_QUERY_PROG_ID = 8;
    static final long XDP_QUERY_DRV_PROG_ID = 12;
    static final long XDP_QUERY_SKB_PROG_ID = 20;
    static final long XDP_QUERY_ATTACH_MODE = 24;

    /** {@code struct bpf_xdp_attach_opts}: sz, then old_prog_fd (int); 16 bytes. */
    static final long XDP_ATTACH_OPTS_BYTES = 16;

    /** {@code struct bpf_prog_info}: room for every field of a 6.x kernel; the id is at 4, the name at 64 (16 bytes). */
    static final int PROG_INFO_BYTES = 256;
    static final long PROG_INFO_ID = 4;
    static final long PROG_INFO_NAME = 64;
    static final int BPF_OBJ_NAME_LEN = 16;

    private static final String UNAVAILABLE;
    private static final MethodHandle OBJECT_OPEN_MEM;
    private static final MethodHandle OBJECT_LOAD;
    private static final MethodHandle OBJECT_CLOSE;
    private static final MethodHandle FIND_PROGRAM_BY_NAME;
    private static final MethodHandle PROGRAM_FD;
    private static final MethodHandle FIND_MAP_BY_NAME;
    private static final MethodHandle MAP_FD;
    private static final MethodHandle MAP_UPDATE_ELEM;
    private static final MethodHandle MAP_LOOKUP_ELEM;
    private static final MethodHandle MAP_DELETE_ELEM;
    private static final MethodHandle XDP_ATTACH;
    private static final MethodHandle XDP_DETACH;
    private static final MethodHandle XDP_QUERY;
    private static final MethodHandle OBJ_PIN;
    private static final MethodHandle OBJ_GET;
    private static final MethodHandle PROG_GET_FD_BY_ID;
    private static final MethodHandle OBJ_GET_INFO_BY_FD;
    private static final MethodHandle NUM_POSSIBLE_CPUS;
    private static final MethodHandle MAP_UPDATE_BATCH;
    private static final MethodHandle MAP_DELETE_BATCH;
    private static final MethodHandle MAP_GET_NEXT_KEY;
    private static final MethodHandle MAJOR_VERSION;
    private static final MethodHandle MINOR_VERSION;

    static {
        MethodHandle[] handles = new MethodHandle[23];
        String unavailable = Syscalls.unavailable().orElse(null);
        if (unavailable == null) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libbpf = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());
                Linker.Option errno = Linker.Option.captureCallState("errno");
                handles[0] = Syscalls.downcall(linker, libbpf, "bpf_object__open_mem",
                        FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS), errno);
                handles[1] = Syscalls.downcall(linker, libbpf, "bpf_object__load", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                handles[2] = Syscalls.downcall(linker, libbpf, "bpf_object__close", FunctionDescriptor.ofVoid(ADDRESS));
                handles[3] = Syscalls.downcall(linker, libbpf, "bpf_object__find_program_by_name",
                        FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS), errno);
                handles[4] = Syscalls.downcall(linker, libbpf, "bpf_program__fd", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                handles[5] = Syscalls.downcall(linker, libbpf, "bpf_object__find_map_by_name",
                        FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS), errno);
                handles[6] = Syscalls.downcall(linker, libbpf, "bpf_map__fd", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                handles[7] = Syscalls.downcall(linker, libbpf, "bpf_map_update_elem",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
                handles[8] = Syscalls.downcall(linker, libbpf, "bpf_map_lookup_elem",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
                handles[9] = Syscalls.downcall(linker, libbpf, "bpf_map_delete_elem",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
                handles[10] = Syscalls.downcall(linker, libbpf, "bpf_xdp_attach",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
                handles[11] = Syscalls.downcall(linker, libbpf, "bpf_xdp_detach",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
                handles[12] = Syscalls.downcall(linker, libbpf, "bpf_xdp_query",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
                handles[13] = Syscalls.downcall(linker, libbpf, "bpf_obj_pin",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
                handles[14] = Syscalls.downcall(linker, libbpf, "bpf_obj_get", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                handles[15] = Syscalls.downcall(linker, libbpf, "bpf_prog_get_fd_by_id",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT));
                handles[16] = Syscalls.downcall(linker, libbpf, "bpf_obj_get_info_by_fd",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
                handles[17] = Syscalls.downcall(linker, libbpf, "libbpf_num_possible_cpus",
                        FunctionDescriptor.of(JAVA_INT));
                handles[18] = Syscalls.downcall(linker, libbpf, "libbpf_major_version", FunctionDescriptor.of(JAVA_INT));
                handles[19] = Syscalls.downcall(linker, libbpf, "libbpf_minor_version", FunctionDescriptor.of(JAVA_INT));
                handles[20] = Syscalls.downcall(linker, libbpf, "bpf_map_update_batch",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
                handles[21] = Syscalls.downcall(linker, libbpf, "bpf_map_delete_batch",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
                handles[22] = Syscalls.downcall(linker, libbpf, "bpf_map_get_next_key",
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
            } catch (IllegalArgumentException e) {
                unavailable = "libbpf.so.1 is not installed: apt-get install libbpf1 (" + e.getMessage() + ")";
                java.util.Arrays.fill(handles, null);
            } catch (UnsupportedOperationException e) {
                unavailable = "libbpf.so.1 lacks a function this module calls (older than 1.0?): "
                        + e.getMessage().replace("the C library", "libbpf");
                java.util.Arrays.fill(handles, null);
            } catch (IllegalCallerException e) {
                unavailable = "native access is not enabled: add --enable-native-access=ALL-UNNAMED to the java command line";
                java.util.Arrays.fill(handles, null);
            }
        }
        UNAVAILABLE = unavailable;
        OBJECT_OPEN_MEM = handles[0];
        OBJECT_LOAD = handles[1];
        OBJECT_CLOSE = handles[2];
        FIND_PROGRAM_BY_NAME = handles[3];
        PROGRAM_FD = handles[4];
        FIND_MAP_BY_NAME = handles[5];
        MAP_FD = handles[6];
        MAP_UPDATE_ELEM = handles[7];
        MAP_LOOKUP_ELEM = handles[8];
        MAP_DELETE_ELEM = handles[9];
        XDP_ATTACH = handles[10];
        XDP_DETACH = handles[11];
        XDP_QUERY = handles[12];
        OBJ_PIN = handles[13];
        OBJ_GET = handles[14];
        PROG_GET_FD_BY_ID = handles[15];
        OBJ_GET_INFO_BY_FD = handles[16];
        NUM_POSSIBLE_CPUS = handles[17];
        MAJOR_VERSION = handles[18];
        MINOR_VERSION = handles[19];
        MAP_UPDATE_BATCH = handles[20];
        MAP_DELETE_BATCH = handles[21];
        MAP_GET_NEXT_KEY = handles[22];
    }

    private Libbpf() {
    }

    /** Why libbpf cannot be used here, or empty when it can. */
    static Optional<String> unavailable() {
        return Optional.ofNullable(UNAVAILABLE);
    }

    /** "libbpf 1.1". */
    static String version() {
        try {
            return "libbpf " + (int) MAJOR_VERSION.invokeExact() + "." + (int) MINOR_VERSION.invokeExact();
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_object__open_mem}: the object, or NULL with the errno in {@code state}. The buffer must outlive it. */
    static MemorySegment objectOpenMem(MemorySegment state, MemorySegment elf) {
        try {
            return (MemorySegment) OBJECT_OPEN_MEM.invokeExact(state, elf, elf.byteSize(), MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_object__load}: 0, or a positive errno. */
    static int objectLoad(MemorySegment object) {
        try {
            return error((int) OBJECT_LOAD.invokeExact(object));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_object__close}: unloads what the object loaded and closes its descriptors. */
    static void objectClose(MemorySegment object) {
        try {
            OBJECT_CLOSE.invokeExact(object);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The program's descriptor, or a negative errno. {@code name} is NUL-terminated. */
    static int programFd(MemorySegment state, MemorySegment object, MemorySegment name) {
        try {
            MemorySegment program = (MemorySegment) FIND_PROGRAM_BY_NAME.invokeExact(state, object, name);
            if (program.equals(MemorySegment.NULL)) {
                return -Syscalls.errno(state);
            }
            return (int) PROGRAM_FD.invokeExact(program);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The map's descriptor, or a negative errno. {@code name} is NUL-terminated. */
    static int mapFd(MemorySegment state, MemorySegment object, MemorySegment name) {
        try {
            MemorySegment map = (MemorySegment) FIND_MAP_BY_NAME.invokeExact(state, object, name);
            if (map.equals(MemorySegment.NULL)) {
                return -Syscalls.errno(state);
            }
            return (int) MAP_FD.invokeExact(map);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** 0, or a positive errno. */
    static int mapUpdate(int fd, MemorySegment key, MemorySegment value, long flags) {
        try {
            return error((int) MAP_UPDATE_ELEM.invokeExact(fd, key, value, flags));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** 0, or a positive errno ({@link Errno#ENOENT}: no such key). A per-CPU map's value is one slot per CPU. */
    static int mapLookup(int fd, MemorySegment key, MemorySegment value) {
        try {
            return error((int) MAP_LOOKUP_ELEM.invokeExact(fd, key, value));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** 0, or a positive errno ({@link Errno#ENOENT}: no such key). */
    static int mapDelete(int fd, MemorySegment key) {
        try {
            return error((int) MAP_DELETE_ELEM.invokeExact(fd, key));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * {@code bpf_map_update_batch} of {@code count} packed keys and values in one bpf(2) call: 0, or a positive
     * errno. {@code count} (a u32) holds the number on entry and how many were written on return.
     */
    static int mapUpdateBatch(int fd, MemorySegment keys, MemorySegment values, MemorySegment count) {
        try {
            return error((int) MAP_UPDATE_BATCH.invokeExact(fd, keys, values, count, MemorySegment.NULL));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_map_delete_batch}, like {@link #mapUpdateBatch}; a missing key stops it with ENOENT. */
    static int mapDeleteBatch(int fd, MemorySegment keys, MemorySegment count) {
        try {
            return error((int) MAP_DELETE_BATCH.invokeExact(fd, keys, count, MemorySegment.NULL));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_map_get_next_key}; {@code key} NULL for the first: 0, or a positive errno (ENOENT: no more). */
    static int mapNextKey(int fd, MemorySegment key, MemorySegment next) {
        try {
            return error((int) MAP_GET_NEXT_KEY.invokeExact(fd, key, next));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_xdp_attach} on the calling thread's network namespace: 0, or a positive errno. */
    static int xdpAttach(int ifindex, int programFd, int flags) {
        try {
            return error((int) XDP_ATTACH.invokeExact(ifindex, programFd, flags, MemorySegment.NULL));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * {@code bpf_xdp_detach}: 0, or a positive errno. With {@code expectedProgramFd} ≥ 0 only that program is
     * detached ({@code struct bpf_xdp_attach_opts}: sz, old_prog_fd; libbpf then sets XDP_FLAGS_REPLACE), and
     * {@link Errno#EEXIST} says another one is attached now.
     */
    static int xdpDetach(int ifindex, int flags, int expectedProgramFd) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment opts = MemorySegment.NULL;
            if (expectedProgramFd >= 0) {
                opts = call.allocate(XDP_ATTACH_OPTS_BYTES, 8);
                opts.set(JAVA_LONG, 0, XDP_ATTACH_OPTS_BYTES);
                opts.set(JAVA_INT, 8, expectedProgramFd);
            }
            return error((int) XDP_DETACH.invokeExact(ifindex, flags, opts));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_xdp_query} into {@code opts} ({@link #XDP_QUERY_OPTS_BYTES}, sz set here): 0, or a positive errno. */
    static int xdpQuery(int ifindex, MemorySegment opts) {
        opts.fill((byte) 0);
        opts.set(JAVA_LONG, 0, XDP_QUERY_OPTS_BYTES);
        try {
            return error((int) XDP_QUERY.invokeExact(ifindex, 0, opts));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_obj_pin}: 0, or a positive errno. */
    static int objPin(int fd, MemorySegment path) {
        try {
            return error((int) OBJ_PIN.invokeExact(fd, path));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_obj_get}: a descriptor the caller closes, or a negative errno. */
    static int objGet(MemorySegment path) {
        try {
            return (int) OBJ_GET.invokeExact(path);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** A descriptor of the loaded program {@code id}, which the caller closes, or a negative errno. */
    static int programFdById(int id) {
        try {
            return (int) PROG_GET_FD_BY_ID.invokeExact(id);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** {@code bpf_obj_get_info_by_fd} into {@code info} ({@link #PROG_INFO_BYTES}): 0, or a positive errno. */
    static int objInfo(int fd, MemorySegment info, MemorySegment length) {
        info.fill((byte) 0);
        length.set(JAVA_INT, 0, Math.toIntExact(info.byteSize()));
        try {
            return error((int) OBJ_GET_INFO_BY_FD.invokeExact(fd, info, length));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The CPUs a per-CPU map has a slot for (possible, not online), or a negative errno. */
    static int numPossibleCpus() {
        try {
            return (int) NUM_POSSIBLE_CPUS.invokeExact();
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    private static int error(int result) {
        return result < 0 ? -result : 0;
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
