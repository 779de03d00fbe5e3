package io.isthmus.fastpath;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A named network namespace ({@code /var/run/netns/NAME}, as {@code ip netns add NAME} makes them) that a platform
 * thread can step into with {@code setns(2)}: {@link #call} runs a task inside it on the current thread and steps
 * back out, {@link #newPinnedExecutor} and {@link #startThread} give threads that stay inside for their whole life.
 *
 * <pre>{@code
 * NetNamespace gatewayA = NetNamespace.named("gw-a");
 * TunDevice tun = gatewayA.call(() -> TunDevice.open("isthmus0", TunDevice.Options.defaults()));
 * RouteNetlink netlink = gatewayA.call(RouteNetlink::open);   // configures gw-a's links and routes
 * }</pre>
 *
 * <p>A network namespace belongs to each thread, and what is made inside keeps it: sockets, TUN devices and netlink
 * sockets opened in a task stay in that namespace when used later from any thread. So two gateways' data planes can
 * run in one JVM, each in its own namespace. Only platform threads may enter: a virtual thread moves between carrier
 * threads, and the namespace would stay with the carrier, so {@link #call} refuses virtual threads (a task must not
 * start virtual threads and expect them inside either). Entering needs CAP_SYS_ADMIN (root); the namespace of the
 * JVM's other threads is never touched. Does not make or delete namespaces.
 */
public final class NetNamespace {
    private static final System.Logger log = System.getLogger(NetNamespace.class.getName());
    private static final Path NETNS_DIRECTORY = Path.of("/var/run/netns");
    private static final String CURRENT_THREAD_NAMESPACE = "/proc/thread-self/ns/net";

    private final String name;
    private final Path path;

    private NetNamespace(String name, Path path) {
        this.name = name;
        this.path = path;
    }

    /**
     * The namespace {@code ip netns} knows as {@code name}; whether it exists is checked when a thread enters it.
     *
     * @throws InvalidArgumentException when the name is empty, has '/' or is "." or ".."
     */
    public static NetNamespace named(String name) {
        if (name == null || name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")
                || name.indexOf(0) >= 0) {
            throw new InvalidArgumentException("network namespace", name,
                    "must be a file name under " + NETNS_DIRECTORY + " (not empty, no '/')");
        }
        return new NetNamespace(name, NETNS_DIRECTORY.resolve(name));
    }

    public String name() {
        return name;
    }

    /** {@code /var/run/netns/NAME}. */
    public Path path() {
        return path;
    }

    /**
     * Runs {@code task} on the current platform thread inside this namespace and steps back into the thread's
     * previous namespace afterwards, whatever the task did; returns what it returned.
     *
     * @throws SystemCallException   when the namespace does not exist (ENOENT) or may not be entered (EPERM: needs
     *                               CAP_SYS_ADMIN, run as root)
     * @throws IllegalStateException on a virtual thread, or when the thread could not step back out (it is then
     *                               left inside this namespace: do not reuse it)
     * @throws Exception             what the task threw
     */
    public <T> T call(Callable<T> task) throws Exception {
        Objects.requireNonNull(task, "task");
        requirePlatformThread();
        Syscalls.ensureAvailable("network namespaces");
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newCallState(call);
            int original = openNamespace(call, state, CURRENT_THREAD_NAMESPACE, "the current thread's namespace");
            try {
                int target = openNamespace(call, state, path.toString(), "network namespace " + name);
                try {
                    enter(state, target);
                } finally {
                    Syscalls.close(target);
                }
                try {
                    return task.call();
                } finally {
                    if (Syscalls.setns(state, original, Syscalls.CLONE_NEWNET) != 0) {
                        throw new IllegalStateException("thread " + Thread.currentThread().getName()
                                + " could not step back out of network namespace " + name + " ("
                                + Errno.name(Syscalls.errno(state)) + "); it stays inside: do not reuse it");
                    }
                }
            } finally {
                Syscalls.close(original);
            }
        }
    }

    /** {@link #call} for a task that returns nothing. */
    public void run(ThrowingRunnable task) throws Exception {
        call(() -> {
            task.run();
            return null;
        });
    }

    /** A task for {@link #run}; may throw. */
    @FunctionalInterface
    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    /**
     * Starts a platform thread that enters this namespace and then runs {@code task}, for a loop that lives there
     * (a data plane's reader); returns once the thread is inside.
     *
     * @throws SystemCallException when it could not enter (the thread then ends without running {@code task})
     */
    public Thread startThread(String threadName, Runnable task) throws IOException {
        Objects.requireNonNull(task, "task");
        int fd = openOnce();
        CompletableFuture<Void> entered = new CompletableFuture<>();
        Thread thread = Thread.ofPlatform().name(threadName).start(() -> {
            try {
                enterFrom(fd);
                entered.complete(null);
            } catch (Throwable e) {
                entered.completeExceptionally(e);
                return;
            } finally {
                Syscalls.close(fd);
            }
            task.run();
        });
        awaitEntered(entered, thread);
        return thread;
    }

    /**
     * A single platform thread that lives inside this namespace and runs every task submitted to it there. Shut it
     * down when done. Returns once the thread is inside.
     *
     * @throws SystemCallException when the thread could not enter
     */
    public ExecutorService newPinnedExecutor(String threadName) throws IOException {
        int fd = openOnce();
        AtomicInteger threads = new AtomicInteger();
        CompletableFuture<Void> entered = new CompletableFuture<>();
        PinnedExecutor executor = new PinnedExecutor(this, fd);
        executor.setThreadFactory(work -> Thread.ofPlatform()
                .name(threads.incrementAndGet() == 1 ? threadName : threadName + "-" + threads.get())
                .unstarted(() -> {
                    try {
                        enterFrom(fd);
                        executor.inside = Thread.currentThread();
                        entered.complete(null);
                    } catch (Throwable e) {
                        // A replacement thread (after a task threw an Error) that cannot enter runs no task: the
                        // executor shuts down, and the worker loop below only drains it (PinnedExecutor.execute).
                        entered.completeExceptionally(e);
                        log.log(System.Logger.Level.ERROR, "a thread of the executor pinned to network namespace "
                                + name + " could not enter it; shutting the executor down", e);
                        executor.shutdownNow();
                    }
                    work.run();
                }));
        executor.prestartCoreThread();
        try {
            awaitEntered(entered, null);
        } catch (IOException | RuntimeException e) {
            executor.shutdownNow();
            throw e;
        }
        return executor;
    }

    /**
     * One thread, unbounded queue; holds the namespace's descriptor until it has terminated. A task reaching a thread
     * that is not inside (it could not enter) is cancelled, never run outside.
     */
    private static final class PinnedExecutor extends ThreadPoolExecutor {
        private final NetNamespace namespace;
        private final int namespaceFd;
        volatile Thread inside;

        PinnedExecutor(NetNamespace namespace, int namespaceFd) {
            super(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>());
            this.namespace = namespace;
            this.namespaceFd = namespaceFd;
        }

        @Override
        public void execute(Runnable command) {
            Objects.requireNonNull(command, "command");
            super.execute(() -> {
                if (Thread.currentThread() != inside) {
                    if (command instanceof Future<?> future) {
                        future.cancel(false);
                    }
                    log.log(System.Logger.Level.ERROR, "a task for network namespace " + namespace.name
                            + " was not run: its thread is not inside the namespace");
                    return;
                }
                command.run();
            });
        }

        @Override
        protected void terminated() {
            Syscalls.close(namespaceFd);
        }
    }

    private int openOnce() throws IOException {
        Syscalls.ensureAvailable("network namespaces");
        try (Arena call = Arena.ofConfined()) {
            return openNamespace(call, Syscalls.newCallState(call), path.toString(), "network namespace " + name);
        }
    }

    private void enterFrom(int fd) throws IOException {
        try (Arena call = Arena.ofConfined()) {
            enter(Syscalls.newCallState(call), fd);
        }
    }

    private void enter(MemorySegment state, int fd) throws SystemCallException {
        if (Syscalls.setns(state, fd, Syscalls.CLONE_NEWNET) != 0) {
            int errno = Syscalls.errno(state);
            if (errno == Errno.EPERM || errno == Errno.EACCES) {
                throw new SystemCallException("entering network namespace " + name + " (setns) failed: "
                        + Errno.name(errno) + "; needs CAP_SYS_ADMIN (run as root)", errno);
            }
            throw Errno.networkFailure(Errno.Subject.NAMESPACE, "entering network namespace " + name + " (setns)",
                    errno, null);
        }
    }

    private static int openNamespace(Arena call, MemorySegment state, String file, String what)
            throws SystemCallException {
        int fd = Syscalls.open(state, call.allocateFrom(file), Syscalls.O_RDONLY | Syscalls.O_CLOEXEC);
        if (fd < 0) {
            throw Errno.networkFailure(Errno.Subject.NAMESPACE, "opening " + what + " (" + file + ")",
                    Syscalls.errno(state), null);
        }
        return fd;
    }

    private static void requirePlatformThread() {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("a virtual thread cannot enter a network namespace: it moves between"
                    + " carrier threads and the namespace stays with the carrier; use a platform thread");
        }
    }

    private static void awaitEntered(CompletableFuture<Void> entered, Thread thread) throws IOException {
        try {
            entered.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while a thread entered a network namespace", e);
        } catch (ExecutionException e) {
            if (thread != null) {
                joinQuietly(thread);
            }
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IOException(e.getCause());
        }
    }

    private static void joinQuietly(Thread thread) {
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "NetNamespace[" + name + "]";
    }
}
