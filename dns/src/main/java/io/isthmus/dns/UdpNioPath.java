package io.isthmus.dns;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plain path, which works everywhere: every thread blocks in {@link DatagramChannel#receive} on one shared channel
 * and sends its answer with {@link DatagramChannel#send}, two system calls per query (an answer that waited on an
 * upstream is sent by the thread that waited).
 */
final class UdpNioPath implements UdpPath {
    private static final Logger log = LoggerFactory.getLogger(UdpNioPath.class);
    /** The largest datagram; anything longer is cut by the kernel and then fails to parse. */
    private static final int RECEIVE_BUFFER = 65_535;

    private final DatagramChannel channel;
    private final InetSocketAddress localAddress;
    private final int threads;
    private final String reason;

    private UdpNioPath(DatagramChannel channel, InetSocketAddress localAddress, int threads, String reason) {
        this.channel = channel;
        this.localAddress = localAddress;
        this.threads = threads;
        this.reason = reason;
    }

    /** Binds one channel for {@code threads} threads; {@code reason} says why this path rather than the batched one. */
    static UdpNioPath bind(InetSocketAddress listen, int threads, String reason) throws IOException {
        DatagramChannel channel = DatagramChannel.open(listen.getAddress() instanceof Inet6Address
                ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        try {
            channel.bind(listen);
            return new UdpNioPath(channel, (InetSocketAddress) channel.getLocalAddress(), threads, reason);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public ServingPath describe() {
        return ServingPath.fallback("nio(threads=" + threads + ")", reason);
    }

    @Override
    public void serve(int index, QueryProcessor processor) {
        ByteBuffer buffer = ByteBuffer.allocate(RECEIVE_BUFFER);
        while (channel.isOpen()) {
            try {
                buffer.clear();
                if (!(channel.receive(buffer) instanceof InetSocketAddress client)) {
                    continue;
                }
                byte[] wire = Arrays.copyOf(buffer.array(), buffer.position());
                processor.process(wire, Transport.UDP, client, response -> reply(client, response));
            } catch (ClosedChannelException e) {
                return; // close() was called
            } catch (IOException | RuntimeException e) {
                // One client's trouble (an unreachable address, say) must not stop the listener.
                log.debug("dns: udp exchange failed: {}", e.toString());
            }
        }
    }

    /** On this thread at once, or later from the thread that waited on an upstream: the channel takes either. */
    private void reply(InetSocketAddress client, byte[] response) {
        try {
            channel.send(ByteBuffer.wrap(response), client);
        } catch (IOException e) {
            log.debug("dns: udp answer to {} failed: {}", client, e.toString());
        }
    }

    @Override
    public void close() {
        try {
            channel.close(); // wakes the threads blocked in receive
        } catch (IOException e) {
            log.debug("dns: closing udp channel: {}", e.toString());
        }
    }
}
