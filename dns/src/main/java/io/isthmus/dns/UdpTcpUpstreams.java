package io.isthmus.dns;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;

/**
 * Asks upstream resolvers over UDP, and again over TCP when the UDP answer comes back truncated. Each query
 * starts at the next upstream in turn (spreading load), and each retry moves on to the one after.
 *
 * <p>Every try uses a new socket, so a new random source port, and a random message id: together 32 bits an
 * off-path attacker would have to guess to slip in a forged answer (RFC 5452). Replies with the wrong id or
 * question are ignored, not taken.
 */
final class UdpTcpUpstreams implements UpstreamClient {
    private static final Logger log = LoggerFactory.getLogger(UdpTcpUpstreams.class);
    /** Well above the 1232 bytes we advertise; a datagram that fills it is treated as cut off. */
    private static final int RECEIVE_BUFFER = 4096;

    private final List<InetSocketAddress> upstreams;
    private final int timeoutMillis;
    private final int attempts;
    private final AtomicInteger rotation = new AtomicInteger();
    private final SecureRandom ids = new SecureRandom();

    UdpTcpUpstreams(List<InetSocketAddress> upstreams, Duration timeout, int attempts) {
        if (upstreams.isEmpty()) {
            throw new IllegalArgumentException("no upstreams to ask");
        }
        this.upstreams = List.copyOf(upstreams);
        this.timeoutMillis = Math.toIntExact(Math.max(1, timeout.toMillis()));
        this.attempts = attempts;
    }

    @Override
    public Result ask(Message query) {
        int first = Math.floorMod(rotation.getAndIncrement(), upstreams.size());
        Result last = new TimedOut();
        for (int attempt = 0; attempt < attempts && !Thread.currentThread().isInterrupted(); attempt++) {
            InetSocketAddress upstream = upstreams.get((first + attempt) % upstreams.size());
            last = askOne(upstream, query);
            if (last instanceof Answered) {
                return last;
            }
            log.debug("dns: upstream {} gave no answer to {}: {}", DnsServer.show(upstream), query.getQuestion(), last);
        }
        return last;
    }

    private Result askOne(InetSocketAddress upstream, Message query) {
        Message outgoing = query.clone();
        int id = ids.nextInt(0x10000);
        outgoing.getHeader().setID(id);
        byte[] wire = outgoing.toWire();
        try {
            Message response = overUdp(upstream, wire, outgoing);
            if (response.getHeader().getFlag(Flags.TC)) {
                response = overTcp(upstream, wire, outgoing);
            }
            return new Answered(response);
        } catch (SocketTimeoutException e) {
            return new TimedOut();
        } catch (IOException e) {
            return new Failed(e.toString());
        }
    }

    /** The matching response, possibly with TC set; one our buffer cut off is fetched again over TCP. */
    private Message overUdp(InetSocketAddress upstream, byte[] wire, Message outgoing) throws IOException {
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.connect(upstream); // only the upstream's datagrams get through; ICMP errors become exceptions
            socket.send(new DatagramPacket(wire, wire.length));
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            byte[] buffer = new byte[RECEIVE_BUFFER];
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    throw new SocketTimeoutException("no answer from " + DnsServer.show(upstream));
                }
                socket.setSoTimeout(Math.toIntExact(left));
                DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                socket.receive(packet);
                if (packet.getLength() == buffer.length) {
                    return overTcp(upstream, wire, outgoing); // cut off: what TC would have said
                }
                Message response = parse(Arrays.copyOf(buffer, packet.getLength()));
                if (response != null && answers(response, outgoing)) {
                    return response;
                }
            }
        }
    }

    private Message overTcp(InetSocketAddress upstream, byte[] wire, Message outgoing) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(upstream, timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            OutputStream out = socket.getOutputStream();
            out.write(ByteBuffer.allocate(2 + wire.length).putShort((short) wire.length).put(wire).array());
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            byte[] body = in.readNBytes(in.readUnsignedShort());
            Message response = parse(body);
            if (response == null || !answers(response, outgoing)) {
                throw new IOException("the TCP response from " + DnsServer.show(upstream) + " does not answer our query");
            }
            return response;
        }
    }

    private static Message parse(byte[] wire) {
        try {
            return new Message(wire);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Same id, QR set, the same question; a server may leave the question out of an error response. */
    private static boolean answers(Message response, Message query) {
        if (response.getHeader().getID() != query.getHeader().getID() || !response.getHeader().getFlag(Flags.QR)) {
            return false;
        }
        Record asked = query.getQuestion();
        Record echoed = response.getQuestion();
        if (echoed == null) {
            return response.getRcode() != 0;
        }
        return echoed.getName().equals(asked.getName()) && echoed.getType() == asked.getType()
                && echoed.getDClass() == asked.getDClass();
    }
}
