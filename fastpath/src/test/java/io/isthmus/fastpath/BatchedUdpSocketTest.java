package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** recvmmsg/sendmmsg on loopback against plain NIO peers; Linux x86_64 only (the probe must say available). */
class BatchedUdpSocketTest {
    private static final InetSocketAddress LOOPBACK4 = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    private static final InetSocketAddress LOOPBACK6 = new InetSocketAddress(ipv6Loopback(), 0);
    private static final int BIG_BUFFER = 4 << 20;
    private static final BatchedUdpSocket.Options OPTIONS = BatchedUdpSocket.Options.defaults()
            .withBatch(32, 512).withBuffers(BIG_BUFFER, BIG_BUFFER);
    private static final Duration WAIT = Duration.ofSeconds(5);

    @Test
    void echoesAThousandDatagramsFromAPlainChannelReceivingThemInBatches() throws Exception {
        try (BatchedUdpSocket server = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
            EchoResult result = echo(server, StandardProtocolFamily.INET, 1_000);
            assertEquals(1_000, result.distinct(), "every datagram came back, once");
            assertTrue(result.largestBatch() > 1, "some receive took several datagrams: " + result.largestBatch());
            assertEquals(InetAddress.getLoopbackAddress(), result.clientSeenByServer().getAddress());
        }
    }

    @Test
    void echoesOverIpv6Loopback() throws Exception {
        requireIpv6Loopback();
        try (BatchedUdpSocket server = BatchedUdpSocket.open(LOOPBACK6, OPTIONS)) {
            assertEquals(LOOPBACK6.getAddress(), server.localAddress().getAddress());
            EchoResult result = echo(server, StandardProtocolFamily.INET6, 300);
            assertEquals(300, result.distinct());
            assertInstanceOf(Inet6Address.class, result.clientSeenByServer().getAddress());
            assertTrue(result.clientSeenByServer().getAddress().isLoopbackAddress());
        }
    }

    @Test
    void closeFromAnotherThreadWakesABlockedReceiverAndFreesThePort() throws Exception {
        BatchedUdpSocket socket = BatchedUdpSocket.open(LOOPBACK4, OPTIONS);
        int port = socket.localAddress().getPort();
        DatagramBatch batch = socket.newBatch();
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread receiver = Thread.ofPlatform().name("blocked-receiver").start(() -> {
            try {
                socket.receive(batch);
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        });
        awaitBlockedInNative(receiver);

        assertTimeoutPreemptively(Duration.ofSeconds(2), socket::close);

        assertInstanceOf(AsynchronousCloseException.class, outcome.get(2, TimeUnit.SECONDS));
        assertFalse(socket.isOpen());
        assertEquals(0, batch.size(), "what shutdown makes recvmmsg return is not data");
        try (DatagramChannel rebind = DatagramChannel.open(StandardProtocolFamily.INET)) {
            rebind.bind(new InetSocketAddress(LOOPBACK4.getAddress(), port)); // the descriptor is really closed
        }
        receiver.join();
    }

    @Test
    void callsAfterCloseFailCleanlyAndCloseIsIdempotent() throws IOException {
        BatchedUdpSocket socket = BatchedUdpSocket.open(LOOPBACK4, OPTIONS);
        DatagramBatch batch = socket.newBatch();
        batch.add(socket.localAddress(), new byte[] {1});
        socket.close();
        socket.close();
        assertThrows(ClosedChannelException.class, () -> socket.receive(batch));
        assertThrows(ClosedChannelException.class, () -> socket.send(batch));
        assertThrows(IllegalStateException.class, socket::newBatch);
    }

    @Test
    void aPortInUseFailsWithAMessageThatSaysSo() throws IOException {
        try (DatagramChannel squatter = DatagramChannel.open(StandardProtocolFamily.INET)) {
            squatter.bind(LOOPBACK4);
            InetSocketAddress taken = (InetSocketAddress) squatter.getLocalAddress();

            BindException e = assertThrows(BindException.class, () -> BatchedUdpSocket.open(taken, OPTIONS));

            assertEquals("udp address 127.0.0.1:" + taken.getPort() + " is already in use (EADDRINUSE): another"
                    + " socket holds it; choose another port or stop what holds it", e.getMessage());
            assertThrows(BindException.class, () -> BatchedUdpSocket.open(taken, OPTIONS.withReusePort(true)),
                    "SO_REUSEPORT does not let us share a port with a socket that did not ask for it");
        }
    }

    @Test
    void aGroupRefusesAPortHeldEvenByAnotherSoReusePortSocket() throws IOException {
        try (BatchedUdpSocket other = BatchedUdpSocket.open(LOOPBACK4, OPTIONS.withReusePort(true))) {
            BindException e = assertThrows(BindException.class,
                    () -> BatchedUdpSocket.openGroup(other.localAddress(), 2, OPTIONS));
            assertTrue(e.getMessage().contains("is already in use"), e.getMessage());
        }
    }

    @Test
    void aGroupSharesOnePortAndTheKernelSpreadsSendersOverItsSockets() throws Exception {
        List<BatchedUdpSocket> group = BatchedUdpSocket.openGroup(LOOPBACK4, 3,
                OPTIONS.withReceiveTimeout(Duration.ofMillis(100)));
        try {
            int port = group.getFirst().localAddress().getPort();
            assertTrue(port != 0);
            group.forEach(s -> assertEquals(port, s.localAddress().getPort()));

            List<DatagramChannel> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 50; i++) {
                    DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET);
                    client.bind(LOOPBACK4);
                    clients.add(client);
                    client.send(ByteBuffer.wrap(new byte[] {(byte) i}), group.getFirst().localAddress());
                }
                Set<Integer> socketsThatReceived = new HashSet<>();
                int received = 0;
                for (int s = 0; s < group.size(); s++) {
                    BatchedUdpSocket socket = group.get(s);
                    DatagramBatch batch = socket.newBatch();
                    int n;
                    while ((n = socket.receive(batch)) > 0) { // 0: nothing more within the timeout
                        received += n;
                        socketsThatReceived.add(s);
                    }
                }
                assertEquals(50, received, "every sender reached one socket of the group");
                assertTrue(socketsThatReceived.size() > 1, "50 senders all hashed to one socket");
            } finally {
                for (DatagramChannel client : clients) {
                    client.close();
                }
            }
        } finally {
            group.forEach(BatchedUdpSocket::close);
        }
    }

    @Test
    void aDatagramLongerThanItsSlotIsCutAndMarkedTruncated() throws IOException {
        try (BatchedUdpSocket server = BatchedUdpSocket.open(LOOPBACK4, OPTIONS.withBatch(4, 16));
             DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET)) {
            client.send(ByteBuffer.wrap(new byte[40]), server.localAddress());
            client.send(ByteBuffer.wrap(new byte[] {7, 8, 9}), server.localAddress());

            List<Received> got = receive(server, 2);

            assertTrue(got.get(0).truncated());
            assertEquals(16, got.get(0).payload().length);
            assertFalse(got.get(1).truncated());
            assertArrayEquals(new byte[] {7, 8, 9}, got.get(1).payload());
        }
    }

    @Test
    void aDatagramTheKernelRefusesIsSkippedAndTheOthersAreSent() throws IOException {
        try (BatchedUdpSocket server = BatchedUdpSocket.open(LOOPBACK4, OPTIONS);
             DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET)) {
            client.bind(LOOPBACK4);
            client.configureBlocking(false);
            InetSocketAddress to = (InetSocketAddress) client.getLocalAddress();
            DatagramBatch out = server.newBatch();
            out.add(to, "first".getBytes(StandardCharsets.US_ASCII));
            out.add(new InetSocketAddress(LOOPBACK4.getAddress(), 0), "port zero: EINVAL".getBytes(StandardCharsets.US_ASCII));
            out.add(to, "third".getBytes(StandardCharsets.US_ASCII));

            assertEquals(2, server.send(out));

            assertEquals(0, out.size(), "send empties the batch");
            assertEquals("first", receiveText(client));
            assertEquals("third", receiveText(client));
        }
    }

    @Test
    void sendOneGoesOutFromOtherThreadsWhileBatchesAreSent() throws Exception {
        try (BatchedUdpSocket server = BatchedUdpSocket.open(LOOPBACK4, OPTIONS);
             BatchedUdpSocket client = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
            InetSocketAddress to = client.localAddress();
            List<Thread> late = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                byte id = (byte) (100 + t);
                late.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int i = 0; i < 25; i++) {
                            assertTrue(server.sendOne(to, new byte[] {id}));
                        }
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                }));
            }
            DatagramBatch batch = server.newBatch();
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 25; j++) {
                    batch.add(to, new byte[] {(byte) i});
                }
                assertEquals(25, server.send(batch));
            }
            for (Thread thread : late) {
                thread.join();
            }

            assertEquals(200, receive(client, 200).size(), "100 batched and 100 single, none lost");
            assertFalse(server.sendOne(new InetSocketAddress(LOOPBACK4.getAddress(), 0), new byte[1]),
                    "refused by the kernel: port 0");
            server.close();
            assertThrows(ClosedChannelException.class, () -> server.sendOne(to, new byte[1]));
        }
    }

    @Test
    void aReceiveTimeoutReturnsAnEmptyBatch() throws IOException {
        try (BatchedUdpSocket socket = BatchedUdpSocket.open(LOOPBACK4, OPTIONS.withReceiveTimeout(Duration.ofMillis(50)))) {
            DatagramBatch batch = socket.newBatch();
            long start = System.nanoTime();
            assertEquals(0, socket.receive(batch));
            assertEquals(0, batch.size());
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(40));
        }
    }

    @Test
    void aBatchSaysWhenItIsFullAndRefusesWhatCouldNeverFit() throws IOException {
        try (BatchedUdpSocket socket = BatchedUdpSocket.open(LOOPBACK4, OPTIONS.withBatch(4, 100))) {
            DatagramBatch batch = socket.newBatch();
            InetSocketAddress to = socket.localAddress();
            assertTrue(batch.add(to, new byte[250]));
            assertTrue(batch.add(to, new byte[100]), "packed: one datagram may use several slots' bytes");
            assertFalse(batch.add(to, new byte[100]), "only 50 bytes left");
            assertTrue(batch.add(to, new byte[50]));
            assertTrue(batch.add(to, new byte[0]));
            assertFalse(batch.add(to, new byte[0]), "no slot left");
            assertEquals(4, batch.size());
            assertEquals(100, batch.length(1));
            assertEquals(to, batch.peer(0));
            assertThrows(IllegalArgumentException.class, () -> batch.add(to, new byte[401]));
            assertThrows(IllegalArgumentException.class, () -> batch.add(new InetSocketAddress(LOOPBACK6.getAddress(), 53),
                    new byte[1]), "an IPv6 peer on an IPv4 socket");
            assertThrows(IllegalArgumentException.class, () -> {
                try (BatchedUdpSocket other = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
                    other.send(batch);
                }
            });
        }
    }

    @Test
    void aBatchHoldingReceivedDatagramsMustBeClearedBeforeAdding() throws IOException {
        try (BatchedUdpSocket socket = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
            DatagramBatch out = socket.newBatch();
            out.add(socket.localAddress(), new byte[] {42});
            socket.send(out);
            DatagramBatch in = socket.newBatch();
            assertEquals(1, socket.receive(in));
            assertThrows(IllegalStateException.class, () -> in.add(socket.localAddress(), new byte[1]));
            in.clear();
            assertTrue(in.add(socket.localAddress(), new byte[] {43}));
            socket.send(in);
            assertEquals(1, socket.receive(in), "a batch used to send receives again");
            assertArrayEquals(new byte[] {43}, in.payloadBytes(0));
        }
    }

    private record EchoResult(int distinct, int largestBatch, InetSocketAddress clientSeenByServer) {
    }

    /**
     * Sends {@code count} numbered datagrams from a plain channel, 100 in flight at most, to an echo loop on
     * {@code server}; the first 100 are queued before the loop starts, so its first receive takes a full batch.
     */
    private static EchoResult echo(BatchedUdpSocket server, ProtocolFamily family, int count) throws Exception {
        AtomicInteger largestBatch = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<InetSocketAddress> seen = new AtomicReference<>();
        int window = 100;
        try (DatagramChannel client = DatagramChannel.open(family)) {
            client.setOption(StandardSocketOptions.SO_RCVBUF, BIG_BUFFER);
            client.bind(new InetSocketAddress(server.localAddress().getAddress(), 0));
            client.connect(server.localAddress());
            BitSet back = new BitSet(count);
            sendNumbered(client, 0, Math.min(window, count));
            Thread loop = Thread.ofPlatform().name("echo").start(() -> echoLoop(server, largestBatch, seen, failure));
            try {
                DatagramSocket replies = client.socket(); // the channel's adaptor, for its receive timeout
                replies.setSoTimeout(Math.toIntExact(WAIT.toMillis()));
                DatagramPacket reply = new DatagramPacket(new byte[64], 64);
                for (int from = 0; from < count; from += window) {
                    int to = Math.min(from + window, count);
                    if (from > 0) {
                        sendNumbered(client, from, to);
                    }
                    for (int i = from; i < to; i++) {
                        replies.receive(reply); // SocketTimeoutException when one is lost
                        ByteBuffer bytes = ByteBuffer.wrap(reply.getData(), 0, reply.getLength());
                        int number = bytes.getInt();
                        assertEquals("payload " + number, StandardCharsets.US_ASCII.decode(bytes).toString());
                        back.set(number);
                    }
                }
            } finally {
                server.close();
                loop.join(WAIT.toMillis());
            }
            assertNull(failure.get(), () -> "echo loop failed: " + failure.get());
            return new EchoResult(back.cardinality(), largestBatch.get(), seen.get());
        }
    }

    private static void echoLoop(BatchedUdpSocket server, AtomicInteger largestBatch,
                                 AtomicReference<InetSocketAddress> seen, AtomicReference<Throwable> failure) {
        DatagramBatch in = server.newBatch();
        DatagramBatch out = server.newBatch();
        try {
            while (true) {
                int n = server.receive(in);
                largestBatch.accumulateAndGet(n, Math::max);
                seen.compareAndSet(null, in.peer(0));
                for (int i = 0; i < n; i++) {
                    assertTrue(out.add(in, i, in.payload(i)));
                }
                assertEquals(n, server.send(out));
            }
        } catch (ClosedChannelException e) {
            // closed by the test (AsynchronousCloseException is one)
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    private static void sendNumbered(DatagramChannel client, int from, int to) throws IOException {
        ByteBuffer packet = ByteBuffer.allocate(64);
        for (int i = from; i < to; i++) {
            packet.clear();
            packet.putInt(i).put(("payload " + i).getBytes(StandardCharsets.US_ASCII)).flip();
            client.write(packet);
        }
    }

    private record Received(byte[] payload, boolean truncated, InetSocketAddress peer) {
    }

    /** Exactly {@code count} datagrams, over as many receives as it takes. */
    private static List<Received> receive(BatchedUdpSocket socket, int count) {
        List<Received> got = new ArrayList<>();
        DatagramBatch batch = socket.newBatch();
        assertTimeoutPreemptively(WAIT, () -> {
            while (got.size() < count) {
                int n = socket.receive(batch);
                for (int i = 0; i < n; i++) {
                    got.add(new Received(batch.payloadBytes(i), batch.truncated(i), batch.peer(i)));
                }
            }
        });
        assertEquals(count, got.size());
        return got;
    }

    private static String receiveText(DatagramChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (channel.receive(buffer) == null) {
            assertTrue(System.nanoTime() < deadline, "nothing arrived");
            Thread.onSpinWait();
        }
        buffer.flip();
        return StandardCharsets.US_ASCII.decode(buffer).toString();
    }

    /** Waits until {@code thread} sits in a native call (recvmmsg), so close() really has to wake it. */
    private static void awaitBlockedInNative(Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            StackTraceElement[] stack = thread.getStackTrace();
            if (stack.length > 0 && stack[0].isNativeMethod() || inDowncall(stack)) {
                Thread.sleep(100); // and give it time to go to sleep in the kernel
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the receiver never reached recvmmsg");
    }

    private static boolean inDowncall(StackTraceElement[] stack) {
        for (StackTraceElement frame : stack) {
            if (frame.getMethodName().equals("recvmmsg")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Dual-stack is a product claim, and every machine of this kind has ::1: a machine without it fails here with
     * the cause, instead of quietly skipping the IPv6 tests.
     */
    private static void requireIpv6Loopback() {
        try (DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET6)) {
            channel.bind(LOOPBACK6);
        } catch (IOException | UnsupportedOperationException e) {
            throw new AssertionError("the IPv6 tests need ::1, which cannot be bound here (" + e
                    + "): enable IPv6 on loopback (sysctl net.ipv6.conf.lo.disable_ipv6=0)", e);
        }
    }

    private static InetAddress ipv6Loopback() {
        try {
            return InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
