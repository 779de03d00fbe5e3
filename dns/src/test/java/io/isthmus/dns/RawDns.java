package io.isthmus.dns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/** Bytes on the wire, for what no well-behaved client would send. */
final class RawDns {
    static final Duration WAIT = Duration.ofSeconds(2);

    private RawDns() {
    }

    /** Sends one datagram; the reply, or empty if none came within {@code wait}. */
    static Optional<byte[]> udp(InetSocketAddress server, byte[] packet, Duration wait) {
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.setSoTimeout(Math.toIntExact(wait.toMillis()));
            socket.send(new DatagramPacket(packet, packet.length, server));
            byte[] buffer = new byte[65_535];
            DatagramPacket reply = new DatagramPacket(buffer, buffer.length);
            socket.receive(reply);
            return Optional.of(Arrays.copyOf(buffer, reply.getLength()));
        } catch (SocketTimeoutException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends datagrams without waiting for replies. */
    static void udpFireAndForget(InetSocketAddress server, Iterable<byte[]> packets) {
        try (DatagramSocket socket = new DatagramSocket()) {
            for (byte[] packet : packets) {
                socket.send(new DatagramPacket(packet, packet.length, server));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Socket tcp(InetSocketAddress server) throws IOException {
        Socket socket = new Socket(server.getAddress(), server.getPort());
        socket.setSoTimeout(Math.toIntExact(WAIT.toMillis()));
        return socket;
    }

    static void writeFramed(Socket socket, byte[]... messages) throws IOException {
        // One write for all of them, so the server sees a pipeline rather than a conversation.
        int size = Arrays.stream(messages).mapToInt(m -> 2 + m.length).sum();
        ByteBuffer all = ByteBuffer.allocate(size);
        for (byte[] m : messages) {
            all.putShort((short) m.length).put(m);
        }
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.write(all.array());
        out.flush();
    }

    static Message readFramed(Socket socket) throws IOException {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        int length = in.readUnsignedShort();
        return new Message(in.readNBytes(length));
    }

    static Message query(int id, String qname, int qtype) {
        try {
            Message query = Message.newQuery(Record.newRecord(Name.fromString(qname), qtype, DClass.IN));
            query.getHeader().setID(id);
            return query;
        } catch (TextParseException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static byte[] queryBytes(int id, String qname) {
        return query(id, qname, Type.A).toWire();
    }

    /** A twelve-byte header: id, flags word, then the four section counts. */
    static ByteBuffer header(int id, int flags, int qd, int an, int ns, int ar) {
        return ByteBuffer.allocate(512).putShort((short) id).putShort((short) flags)
                .putShort((short) qd).putShort((short) an).putShort((short) ns).putShort((short) ar);
    }

    static byte[] bytes(ByteBuffer buffer) {
        return Arrays.copyOf(buffer.array(), buffer.position());
    }
}
