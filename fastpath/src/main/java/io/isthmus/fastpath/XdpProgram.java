package io.isthmus.fastpath;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/** The compiled {@code isthmus_xdp.o} from this jar: opened and loaded through libbpf, its program and maps found. */
final class XdpProgram {
    static final String OBJECT_RESOURCE = "isthmus_xdp.o";

    private XdpProgram() {
    }

    record Loaded(int programFd, int programId, XdpMaps maps, Map<String, Integer> mapFds) {
    }

    static MemorySegment open(Arena arena) throws SystemCallException {
        byte[] elf;
        try (InputStream in = XdpProgram.class.getResourceAsStream(OBJECT_RESOURCE)) {
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

    static Loaded load(Arena arena, MemorySegment object) throws SystemCallException {
        XdpAttachment.check(Libbpf.objectLoad(object), "loading " + OBJECT_RESOURCE + " into the kernel");
        MemorySegment state = Syscalls.newCallState(arena);
        int program = Libbpf.programFd(state, object, arena.allocateFrom(XdpFilter.PROGRAM));
        if (program < 0) {
            throw Errno.bpfFailure(Errno.BpfSubject.LOAD, "finding program " + XdpFilter.PROGRAM, -program);
        }
        int cpus = Libbpf.numPossibleCpus();
        if (cpus <= 0) {
            throw Errno.bpfFailure(Errno.BpfSubject.MAP, "counting possible CPUs", -cpus);
        }
        MemorySegment info = arena.allocate(Libbpf.PROG_INFO_BYTES, 8);
        XdpAttachment.check(Libbpf.objInfo(program, info, arena.allocate(JAVA_INT)), "reading the id of " + XdpFilter.PROGRAM,
                Errno.BpfSubject.LOAD);
        Map<String, Integer> fds = new LinkedHashMap<>();
        for (String name : XdpFilter.PINNED_MAPS) {
            fds.put(name, mapFd(arena, object, name));
        }
        XdpMaps maps = new XdpMaps(fds.get(XdpFilter.CONFIG_MAP), fds.get(XdpFilter.PEERS_MAP), fds.get(XdpFilter.COUNTS_MAP),
                fds.get(XdpFilter.SESSIONS_MAP),
                cpus);
        return new Loaded(program, info.get(JAVA_INT, Libbpf.PROG_INFO_ID), maps, Map.copyOf(fds));
    }

    static int mapFd(Arena arena, MemorySegment object, String name) throws SystemCallException {
        int fd = Libbpf.mapFd(Syscalls.newCallState(arena), object, arena.allocateFrom(name));
        if (fd < 0) {
            throw Errno.bpfFailure(Errno.BpfSubject.MAP, "finding map " + name, -fd);
        }
        return fd;
    }

}
