package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TunDeviceTest {
    private TestNamespace ns;

    @BeforeEach
    void createNamespace() throws Exception {
        ns = TestNamespace.create("isthmus-tun");
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        if (ns != null) {
            ns.close();
        }
    }

    @Test
    void aDeviceOpenedInsideANamespaceAppearsThereAsATunAndGoesAwayOnClose() throws Exception {
        try (TunDevice tun = ns.namespace().call(() -> TunDevice.open("isth0", TunDevice.Options.defaults()))) {
            assertEquals("isth0", tun.name());
            String details = ns.ip("-d", "link", "show", "isth0");
            assertTrue(details.contains("tun type tun"), details);
            assertFalse(details.contains("multi_queue"), details);
            assertFalse(TestNamespace.run(java.util.List.of("ip", "link")).contains("isth0:"),
                    "the device must not appear in the JVM's own namespace");
        }
        assertFalse(ns.ip("link").contains("isth0"), "closing the last queue removes the device");
    }

    @Test
    void aNumberedNameComesBackAsTheKernelNumberedIt() throws Exception {
        try (TunDevice tun = ns.namespace().call(() -> TunDevice.open("isth%d", TunDevice.Options.defaults()))) {
            assertEquals("isth0", tun.name());
        }
    }

    @Test
    void multiQueueOpensTheRequestedNumberOfQueuesOnOneDevice() throws Exception {
        TunDevice.Options options = TunDevice.Options.defaults().withQueues(4);
        try (TunDevice tun = ns.namespace().call(() -> TunDevice.open("isthmq", options))) {
            assertEquals(4, tun.queues().size());
            String details = ns.ip("-d", "link", "show", "isthmq");
            assertTrue(details.contains("multi_queue"), details);
            assertEquals(4, tun.queues().stream().mapToInt(TunQueue::fd).distinct().count());
            String json = ns.ip("-d", "-j", "link", "show", "isthmq");
            assertTrue(json.contains("\"multi_queue\":true") && json.contains("\"numqueues\":4"), json);
        }
    }

    @Test
    void closeWakesAReaderBlockedOnAnIdleQueue() throws Exception {
        TunDevice tun = ns.namespace().call(() -> TunDevice.open("isthcl", TunDevice.Options.defaults()));
        CompletableFuture<Throwable> reader = new CompletableFuture<>();
        Thread thread = Thread.ofPlatform().name("tun-reader").start(() -> {
            try (Arena arena = Arena.ofConfined()) {
                tun.queue(0).read(arena.allocate(2048));
                reader.complete(null);
            } catch (Throwable e) {
                reader.complete(e);
            }
        });
        Thread.sleep(200); // let it block in poll
        assertFalse(reader.isDone(), "nothing was routed into the device, so the read must still wait");
        long start = System.nanoTime();
        tun.close();
        Throwable thrown = reader.get(5, TimeUnit.SECONDS);
        assertTrue(thrown instanceof AsynchronousCloseException, String.valueOf(thrown));
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2), "close must not wait for a timeout");
        thread.join(2000);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(64);
            assertThrows(ClosedChannelException.class, () -> tun.queue(0).read(buffer));
            assertThrows(ClosedChannelException.class, () -> tun.queue(0).write(buffer));
        }
        tun.close(); // idempotent
    }

    @Test
    void aNameLongerThanIfnamsizIsRefusedNamingTheFieldAndValue() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> TunDevice.open("isthmus-tunnel-01", TunDevice.Options.defaults()));
        assertEquals("invalid tun name 'isthmus-tunnel-01': is 17 bytes, longer than 15 (IFNAMSIZ 16 with the NUL)",
                e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> TunDevice.open("a/b", TunDevice.Options.defaults()));
        assertThrows(InvalidArgumentException.class, () -> TunDevice.open("", TunDevice.Options.defaults()));
        assertThrows(InvalidArgumentException.class, () -> TunDevice.Options.defaults().withQueues(0));
    }

    @Test
    void aNameTakenByADeviceThatIsNotATunSaysSo() {
        SystemCallException e = assertThrows(SystemCallException.class,
                () -> ns.namespace().call(() -> TunDevice.open("lo", TunDevice.Options.defaults())));
        assertEquals("creating tun device lo: TUNSETIFF failed: EINVAL; the kernel refused the flags (a device of that"
                + " name exists and is not a TUN device with these flags?)", e.getMessage());
    }

    @Test
    void aSecondSingleQueueOpenOfTheSameNameSaysTheDeviceIsInUse() throws Exception {
        try (TunDevice first = ns.namespace().call(() -> TunDevice.open("isthbusy", TunDevice.Options.defaults()))) {
            SystemCallException e = assertThrows(SystemCallException.class,
                    () -> ns.namespace().call(() -> TunDevice.open("isthbusy", TunDevice.Options.defaults())));
            assertTrue(e.getMessage().startsWith("creating tun device isthbusy: TUNSETIFF failed: EBUSY; the device is"
                    + " in use"), e.getMessage());
            assertTrue(first.isOpen());
        }
    }
}
