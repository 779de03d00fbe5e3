package io.isthmus.testing;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Moves the calling platform thread into a network namespace ({@code setns(2)}; needs root), so that the processes
 * it starts run there, as a container runtime's would in the host namespace: no {@code nsenter} wrapper process per
 * call. Namespaces belong to threads, so only this thread (and what it starts) moves; use a thread of your own.
 */
public final class ThreadNetns {
    private static final int O_RDONLY = 0;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MethodHandle OPEN = LINKER.downcallHandle(LIBC.find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle SETNS = LINKER.downcallHandle(LIBC.find("setns").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LIBC.find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final java.lang.invoke.VarHandle ERRNO = Linker.Option.captureStateLayout()
            .varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    private ThreadNetns() {
    }

    /** Enters the namespace named by {@code path} (e.g. /var/run/netns/NAME) on the calling thread. */
    public static void enter(String path) {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("setns needs a platform thread: a virtual thread moves between carriers");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), O_RDONLY);
            if (fd < 0) {
                throw new IllegalStateException("open " + path + " failed: errno " + (int) ERRNO.get(state, 0L));
            }
            try {
                int result = (int) SETNS.invokeExact(state, fd, CLONE_NEWNET);
                if (result != 0) {
                    throw new IllegalStateException("setns into " + path + " failed: errno " + (int) ERRNO.get(state, 0L)
                            + " (needs root, CAP_SYS_ADMIN)");
                }
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("setns into " + path + ": " + e, e);
        }
    }
}
