package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.security.MessageDigest;
import java.util.EnumSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * TCP between two namespaces whose TUN devices a Java relay joins, as the tunnel will: the sending side's device has
 * the vnet header with TSO, so it hands over 64 KiB super-packets, which {@link GsoSegmenter} cuts into MTU-sized
 * packets for the plain device on the other side. The bytes must arrive intact.
 */
class GsoRelayTest {
    private static final int BYTES = 8 << 20;

    private static final TunDevice.Options OFFLOADED = TunDevice.Options.defaults().withVnetHeader(EnumSet.of(
            TunDevice.Offload.CHECKSUM, TunDevice.Offload.TSO4, TunDevice.Offload.TSO6));

    @Test
    void tcpThroughARelayThatSegmentsTsoSuperPacketsArrivesIntact() throws Exception {
        relayAndCheck(false, false);
    }

    @Test
    void tcpThroughARelayThatSegmentsAndThenCoalescesAgainArrivesIntact() throws Exception {
        relayAndCheck(true, false);
    }

    /**
     * As a tunnel does: the segmenter leaves TCP checksums partial, the relay then scrambles every TCP checksum field
     * (nothing in it is carried), and the coalescer writes every TCP packet with a partial checksum and NEEDS_CSUM.
     */
    @Test
    void tcpThroughARelayThatDoesNotCarryTcpChecksumsArrivesIntact() throws Exception {
        relayAndCheck(true, true);
    }

    private void relayAndCheck(boolean coalesce, boolean checksumsNotCarried) throws Exception {
        TunDevice.Options rightOptions = coalesce ? OFFLOADED : TunDevice.Options.defaults();
        try (TestNamespace left = TestNamespace.create("isthmus-gso-l");
             TestNamespace right = TestNamespace.create("isthmus-gso-r");
             TunDevice leftTun = left.namespace().call(() -> TunDevice.open("gso0", OFFLOADED));
             TunDevice rightTun = right.namespace().call(() -> TunDevice.open("gso0", rightOptions));
             Arena arena = Arena.ofShared()) {
            configure(left, "10.221.0.1/24", "10.222.0.0/24");
            configure(right, "10.222.0.1/24", "10.221.0.0/24");
            AtomicInteger mostPacketsFromOneRead = new AtomicInteger();
            AtomicLong superPackets = new AtomicLong();
            AtomicLong mergedSegments = new AtomicLong();
            Thread leftToRight = Thread.ofPlatform().name("relay-l2r").start(() -> {
                MemorySegment in = arena.allocate(65_536 + TunDevice.VNET_HEADER_SIZE);
                MemorySegment out = arena.allocate(2048);
                GsoSegmenter segmenter = new GsoSegmenter(!checksumsNotCarried);
                TunQueue to = rightTun.queue(0);
                TcpCoalescer coalescer = new TcpCoalescer(arena, 8, checksumsNotCarried);
                GsoSegmenter.PacketSink write = coalesce
                        ? (buffer, offset, length) -> {
                            if (checksumsNotCarried && buffer.get(ValueLayout.JAVA_BYTE, offset) == 0x45
                                    && buffer.get(ValueLayout.JAVA_BYTE, offset + 9) == 6) {
                                long field = offset + 20 + 16;
                                buffer.set(ValueLayout.JAVA_SHORT, field,
                                        (short) (buffer.get(ValueLayout.JAVA_SHORT, field) ^ 0x5a5a));
                            }
                            if (!coalescer.add(buffer, offset, length)) {
                                coalescer.flush(to);
                                coalescer.add(buffer, offset, length);
                            }
                        }
                        : (buffer, offset, length) -> to.write(buffer, offset, length);
                relay(() -> {
                    int length = leftTun.queue(0).read(in);
                    int packets = segmenter.segment(in, 0, length, out, 0, write);
                    if (coalesce) {
                        coalescer.flush(to);
                        mergedSegments.set(coalescer.merged());
                    }
                    if (packets > 1) {
                        superPackets.incrementAndGet();
                    }
                    mostPacketsFromOneRead.accumulateAndGet(packets, Math::max);
                });
            });
            Thread rightToLeft = Thread.ofPlatform().name("relay-r2l").start(() -> {
                MemorySegment buffer = arena.allocate(65_536 + TunDevice.VNET_HEADER_SIZE);
                relay(() -> {
                    if (coalesce) { // the right device has the vnet header too: pass packets on as they come
                        leftTun.queue(0).write(buffer, 0, rightTun.queue(0).read(buffer));
                        return;
                    }
                    int length = rightTun.queue(0).read(buffer, TunDevice.VNET_HEADER_SIZE, 65_536);
                    GsoSegmenter.writePlainHeader(buffer, 0);
                    leftTun.queue(0).write(buffer, 0, TunDevice.VNET_HEADER_SIZE + length);
                });
            });

            byte[] data = new byte[BYTES];
            new java.util.Random(42).nextBytes(data);
            try (ServerSocketChannel server = right.namespace().call(() -> ServerSocketChannel.open()
                    .bind(new InetSocketAddress("10.222.0.1", 0)))) {
                CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                    try (SocketChannel accepted = server.accept()) {
                        MessageDigest digest = MessageDigest.getInstance("SHA-256");
                        ByteBuffer chunk = ByteBuffer.allocate(1 << 16);
                        long total = 0;
                        while (accepted.read(chunk.clear()) >= 0) {
                            digest.update(chunk.flip());
                            total += chunk.limit();
                        }
                        return total == BYTES ? digest.digest() : new byte[0];
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                try (SocketChannel client = left.namespace().call(SocketChannel::open)) {
                    client.connect(server.getLocalAddress());
                    client.write(ByteBuffer.wrap(data));
                    client.shutdownOutput();
                    assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(data),
                            received.get(30, TimeUnit.SECONDS), "the bytes must arrive intact");
                }
            } finally {
                leftTun.close();
                rightTun.close();
                leftToRight.join(5000);
                rightToLeft.join(5000);
            }
            assertTrue(superPackets.get() > 0 && mostPacketsFromOneRead.get() > 1,
                    "TSO should have handed over super-packets; most packets from one read: "
                            + mostPacketsFromOneRead.get());
            if (coalesce) {
                assertTrue(mergedSegments.get() > 0, "the coalescer should have merged segments");
            }
        }
    }

    private interface Step {
        void run() throws IOException;
    }

    private static void relay(Step step) {
        try {
            while (true) {
                step.run();
            }
        } catch (ClosedChannelException e) {
            // the device closed: done
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static void configure(TestNamespace ns, String address, String remote) throws Exception {
        try (RouteNetlink netlink = ns.namespace().call(RouteNetlink::open)) {
            netlink.addAddress("gso0", IpPrefix.parse(address));
            netlink.setUp("gso0", true);
            netlink.addRoute(Route.to(IpPrefix.parse(remote), "gso0"));
        }
    }
}
