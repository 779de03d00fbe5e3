package io.isthmus.fastpath;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The interface and filesystem side of {@link XdpFilter}: attaching in a mode and checking what took, removing what a
 * crashed process left (a program of ours on the interface, pinned maps), and the bpf filesystem under the pins.
 */
final class XdpAttachment {
    private static final System.Logger log = System.getLogger(XdpAttachment.class.getName());

    private XdpAttachment() {
    }

    record Attachment(int ifindex, int flags, String report) {
    }

    /** Attaches in {@code options.mode()} and checks with the kernel that the program runs in the mode asked for. */
    static Attachment attachProgram(Arena call, int ifindex, int programFd, XdpFilter.Options options)
            throws SystemCallException {
        int nativeFlags = Libbpf.XDP_FLAGS_DRV_MODE | Libbpf.XDP_FLAGS_UPDATE_IF_NOEXIST;
        int genericFlags = Libbpf.XDP_FLAGS_SKB_MODE | Libbpf.XDP_FLAGS_UPDATE_IF_NOEXIST;
        String what = "attaching XDP to " + options.interfaceName();
        String report;
        int flags;
        switch (options.mode()) {
            case NATIVE -> {
                check(Libbpf.xdpAttach(ifindex, programFd, nativeFlags), what + " in native mode");
                flags = nativeFlags;
                report = "native";
            }
            case GENERIC -> {
                check(Libbpf.xdpAttach(ifindex, programFd, genericFlags), what + " in generic mode");
                flags = genericFlags;
                report = "generic";
            }
            case AUTO -> {
                int errno = Libbpf.xdpAttach(ifindex, programFd, nativeFlags);
                if (errno == 0) {
                    flags = nativeFlags;
                    report = "native";
                } else if (errno == Errno.EEXIST || errno == Errno.EBUSY || errno == Errno.EPERM) {
                    throw Errno.bpfFailure(Errno.BpfSubject.ATTACH, what + " in native mode", errno);
                } else {
                    check(Libbpf.xdpAttach(ifindex, programFd, genericFlags), what + " in generic mode");
                    flags = genericFlags;
                    report = "generic (native refused: "
                            + Errno.bpfFailure(Errno.BpfSubject.ATTACH, what + " in native mode", errno).getMessage()
                            + ")";
                }
            }
            default -> throw new AssertionError(options.mode());
        }
        MemorySegment query = call.allocate(Libbpf.XDP_QUERY_OPTS_BYTES, 8);
        int errno = Libbpf.xdpQuery(ifindex, query);
        int mode = query.get(JAVA_BYTE, Libbpf.XDP_QUERY_ATTACH_MODE);
        int expected = (flags & Libbpf.XDP_FLAGS_DRV_MODE) != 0 ? Libbpf.XDP_ATTACHED_DRV : Libbpf.XDP_ATTACHED_SKB;
        if (errno != 0 || (mode != expected && mode != Libbpf.XDP_ATTACHED_MULTI)) {
            // Attached but not as asked (or not verifiable): take it off again, so a failed attach leaves nothing.
            Libbpf.xdpDetach(ifindex, flags & ~Libbpf.XDP_FLAGS_UPDATE_IF_NOEXIST, programFd);
            if (errno != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.ATTACH, "querying XDP on " + options.interfaceName(), errno);
            }
            throw new SystemCallException(what + ": the kernel reports attach mode " + mode + " rather than "
                    + expected + " after attaching", Errno.EINVAL);
        }
        return new Attachment(ifindex, flags, report);
    }

    /** Detaches a program named {@link XdpFilter#PROGRAM} in either mode: what a crashed process of ours left attached. */
    static void removeStaleProgram(Arena call, int ifindex, String interfaceName, List<String> cleaned)
            throws SystemCallException {
        MemorySegment query = call.allocate(Libbpf.XDP_QUERY_OPTS_BYTES, 8);
        check(Libbpf.xdpQuery(ifindex, query), "querying XDP on " + interfaceName);
        for (boolean nativeMode : new boolean[] {true, false}) {
            int id = query.get(JAVA_INT, nativeMode ? Libbpf.XDP_QUERY_DRV_PROG_ID : Libbpf.XDP_QUERY_SKB_PROG_ID);
            if (id != 0 && XdpFilter.PROGRAM.equals(programName(call, id))) {
                int flags = nativeMode ? Libbpf.XDP_FLAGS_DRV_MODE : Libbpf.XDP_FLAGS_SKB_MODE;
                check(Libbpf.xdpDetach(ifindex, flags, -1), "detaching a stale " + XdpFilter.PROGRAM + " from " + interfaceName);
                cleaned.add((nativeMode ? "native" : "generic") + " XDP program id " + id + " on " + interfaceName);
            }
        }
    }

    /** The name of loaded program {@code id}, or null when it is gone already. */
    static String programName(Arena call, int id) throws SystemCallException {
        int fd = Libbpf.programFdById(id);
        if (fd == -Errno.ENOENT) {
            return null;
        }
        if (fd < 0) {
            throw Errno.bpfFailure(Errno.BpfSubject.LOAD, "opening XDP program id " + id, -fd);
        }
        try {
            MemorySegment info = call.allocate(Libbpf.PROG_INFO_BYTES, 8);
            MemorySegment length = call.allocate(JAVA_INT);
            check(Libbpf.objInfo(fd, info, length), "reading XDP program id " + id);
            byte[] name = info.asSlice(Libbpf.PROG_INFO_NAME, Libbpf.BPF_OBJ_NAME_LEN).toArray(JAVA_BYTE);
            int end = 0;
            while (end < name.length && name[end] != 0) {
                end++;
            }
            return new String(name, 0, end, StandardCharsets.US_ASCII);
        } finally {
            Syscalls.close(fd);
        }
    }

    /** Pins each map (name → descriptor) as {@code directory/name}. */
    static void pinMaps(Arena arena, Map<String, Integer> maps, Path directory) throws IOException {
        Files.createDirectories(directory);
        for (Map.Entry<String, Integer> map : maps.entrySet()) {
            Path path = directory.resolve(map.getKey());
            check(Libbpf.objPin(map.getValue(), arena.allocateFrom(path.toString())), "pinning " + path,
                    Errno.BpfSubject.PIN);
        }
    }

    /** Removes the pinned files of a process that did not close its filter; the directory is ours alone. */
    static void removeStalePins(Path directory, List<String> cleaned) throws IOException {
        if (!Files.isDirectory(directory)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                Files.deleteIfExists(entry);
                cleaned.add("pin " + entry);
            }
        }
    }

    static void unpin(Path directory) {
        for (String name : XdpFilter.PINNED_MAPS) {
            try {
                Files.deleteIfExists(directory.resolve(name));
            } catch (IOException e) {
                log.log(System.Logger.Level.WARNING, "could not unpin " + directory.resolve(name) + ": " + e);
            }
        }
        try {
            Files.deleteIfExists(directory);
        } catch (IOException e) { // not empty (someone else's file) or already gone: leave it
            log.log(System.Logger.Level.DEBUG, "left " + directory + ": " + e);
        }
    }

    /** Makes sure {@code pinDirectory} lies on a bpf filesystem, mounting one on /sys/fs/bpf when that is where. */
    static void ensureBpfFilesystem(Path pinDirectory) throws IOException {
        if (onBpfFilesystem(pinDirectory)) {
            return;
        }
        if (!pinDirectory.startsWith(XdpFilter.BPF_MOUNT_POINT) || !Files.isDirectory(XdpFilter.BPF_MOUNT_POINT)) {
            throw new SystemCallException("pin directory " + pinDirectory + " is not on a bpf filesystem: mount one"
                    + " (mount -t bpf bpf " + XdpFilter.BPF_MOUNT_POINT + ") or choose a directory under one", Errno.EINVAL);
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newCallState(call);
            MemorySegment bpf = call.allocateFrom("bpf");
            if (Syscalls.mount(state, bpf, call.allocateFrom(XdpFilter.BPF_MOUNT_POINT.toString()), bpf, 0,
                    call.allocateFrom("mode=0700")) != 0) {
                throw Errno.bpfFailure(Errno.BpfSubject.PIN, "mounting a bpf filesystem on " + XdpFilter.BPF_MOUNT_POINT
                        + " (mount -t bpf bpf " + XdpFilter.BPF_MOUNT_POINT + ")", Syscalls.errno(state));
            }
        }
        log.log(System.Logger.Level.INFO, "mounted a bpf filesystem on {0}", XdpFilter.BPF_MOUNT_POINT);
    }

    /** Whether the longest mount point covering {@code path} in /proc/self/mounts is of type bpf. */
    static boolean onBpfFilesystem(Path path) throws IOException {
        String bestType = null;
        int bestLength = -1;
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/mounts"));
        } catch (NoSuchFileException e) {
            return false;
        }
        for (String line : lines) {
            String[] fields = line.split(" ");
            if (fields.length < 3) {
                continue;
            }
            Path mountPoint = Path.of(fields[1].replace("\\040", " "));
            if (path.startsWith(mountPoint) && mountPoint.getNameCount() >= bestLength) {
                bestLength = mountPoint.getNameCount();
                bestType = fields[2];
            }
        }
        return "bpf".equals(bestType);
    }

    static void check(int errno, String what) throws SystemCallException {
        check(errno, what, what.startsWith("attaching") || what.startsWith("detaching") || what.startsWith("querying")
                ? Errno.BpfSubject.ATTACH : what.startsWith("loading") ? Errno.BpfSubject.LOAD : Errno.BpfSubject.MAP);
    }

    static void check(int errno, String what, Errno.BpfSubject subject) throws SystemCallException {
        if (errno != 0) {
            throw Errno.bpfFailure(subject, what, errno);
        }
    }
}
