package io.isthmus.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A few platform threads blocked in {@link DatagramChannel#receive} on one channel, each answering what it
 * received before it receives again. Answering in place keeps memory bounded under a flood; it is right while
 * every handler answers from memory (a forwarder will want the slow queries handed to virtual threads).
 */
final class UdpListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UdpListener.class);
    /** The largest datagram; anything longer is cut by the kernel and then fails to parse. */
    private static final int RECEIVE_BUFFER = 65_535;

    private final DatagramChannel channel;
    private final QueryProcessor processor;
    private final List<Thread> threads = new ArrayList<>();

    /** Starts {@code threadCount} threads named {@code dns-udp-PORT-N}. */
    UdpListener(DatagramChannel channel, QueryProcessor processor, int threadCount, int port) {
        this.channel = channel;
        this.processor = processor;
        for (int i = 0; i < threadCount; i++) {
            threads.add(Thread.ofPlatform().name("dns-udp-" + port + "-" + i).daemon(true).start(this::receiveLoop));
        }
    }

    private void receiveLoop() {
        ByteBuffer buffer = ByteBuffer.allocate(RECEIVE_BUFFER);
        while (channel.isOpen()) {
            try {
                buffer.clear();
                if (!(channel.receive(buffer) instanceof InetSocketAddress client)) {
                    continue;
                }
                byte[] wire = Arrays.copyOf(buffer.array(), buffer.position());
                Optional<byte[]> response = processor.process(wire, Transport.UDP, client);
                if (response.isPresent()) {
                    channel.send(ByteBuffer.wrap(response.get()), client);
                }
            } catch (ClosedChannelException e) {
                return; // close() was called
            } catch (IOException | RuntimeException e) {
                // One client's trouble (an unreachable address, say) must not stop the listener.
                log.debug("dns: udp exchange failed: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        try {
            channel.close(); // wakes the threads blocked in receive
        } catch (IOException e) {
            log.debug("dns: closing udp channel: {}", e.toString());
        }
        Joiner.join(threads);
    }
}
