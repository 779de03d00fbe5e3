package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NetNamespaceTest {
    private TestNamespace ns;

    @BeforeEach
    void createNamespace() throws Exception {
        ns = TestNamespace.create("isthmus-netns");
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        ns.close();
    }

    @Test
    void aTaskRunsInsideTheNamespaceAndTheThreadStepsBackOutAfterwards() throws Exception {
        String before = currentNamespace();
        String inside = ns.namespace().call(NetNamespaceTest::currentNamespace);

        assertEquals("net:[" + inode(ns.namespace().path()) + "]", inside);
        assertNotEquals(before, inside);
        assertEquals(before, currentNamespace());
    }

    @Test
    void theThreadStepsBackOutWhenTheTaskThrows() throws Exception {
        String before = currentNamespace();
        assertThrows(IllegalStateException.class, () -> ns.namespace().run(() -> {
            throw new IllegalStateException("task failed");
        }));
        assertEquals(before, currentNamespace());
    }

    @Test
    void aPinnedExecutorRunsEveryTaskInsideAndAStartedThreadLivesInside() throws Exception {
        String expected = "net:[" + inode(ns.namespace().path()) + "]";
        ExecutorService executor = ns.namespace().newPinnedExecutor("pinned");
        try {
            for (int i = 0; i < 3; i++) {
                assertEquals(expected, executor.submit(NetNamespaceTest::currentNamespace).get(5, TimeUnit.SECONDS));
            }
        } finally {
            executor.shutdown();
            assertTrue(executor.awaitTermination(5, TimeUnit.SECONDS));
        }
        CompletableFuture<String> seen = new CompletableFuture<>();
        Thread thread = ns.namespace().startThread("loop", () -> {
            try {
                seen.complete(currentNamespace());
            } catch (Exception e) {
                seen.completeExceptionally(e);
            }
        });
        assertEquals(expected, seen.get(5, TimeUnit.SECONDS));
        thread.join(5000);
    }

    @Test
    void aVirtualThreadIsRefused() throws Exception {
        CompletableFuture<Throwable> refused = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                ns.namespace().call(() -> "never");
                refused.complete(null);
            } catch (Throwable e) {
                refused.complete(e);
            }
        }).join();
        Throwable e = refused.get();
        assertTrue(e instanceof IllegalStateException && e.getMessage().contains("use a platform thread"),
                String.valueOf(e));
    }

    @Test
    void aMissingNamespaceSaysHowToCreateIt() {
        NetNamespace missing = NetNamespace.named("isthmus-no-such-namespace");
        SystemCallException e = assertThrows(SystemCallException.class, () -> missing.call(() -> "never"));
        assertEquals("opening network namespace isthmus-no-such-namespace (/var/run/netns/isthmus-no-such-namespace)"
                + " failed: ENOENT; no such network namespace: create it first (ip netns add NAME)", e.getMessage());
        assertThrows(SystemCallException.class, () -> missing.newPinnedExecutor("x"));
        assertThrows(InvalidArgumentException.class, () -> NetNamespace.named("../etc"));
    }

    private static String currentNamespace() throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
    }

    private static long inode(Path path) throws Exception {
        return (long) Files.getAttribute(path, "unix:ino");
    }
}
