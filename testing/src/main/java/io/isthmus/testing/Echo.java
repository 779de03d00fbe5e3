package io.isthmus.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;

/**
 * Echo servers and a UDP round trip for traffic tests. The sockets are made by the caller, inside the network
 * namespace it wants them in; the serving threads stop when the socket is closed.
 */
public final class Echo {
    private Echo() {
    }

    /** Sends every datagram back to where it came from. */
    public static void serveUdp(DatagramSocket socket) {
        Thread.ofPlatform().daemon().name("udp-echo").start(() -> {
            byte[] buffer = new byte[65_535];
            try {
                while (true) {
                    DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                    socket.receive(packet);
                    socket.send(new DatagramPacket(buffer, packet.getLength(), packet.getSocketAddress()));
                }
            } catch (IOException e) {
                // closed
            }
        });
    }

    /** Writes back whatever each client sends, until it closes its side. */
    public static void serveTcp(ServerSocket server) {
        Thread.ofPlatform().daemon().name("tcp-echo").start(() -> {
            try {
                while (true) {
                    Socket client = server.accept();
                    Thread.ofPlatform().daemon().start(() -> {
                        try (client; InputStream in = client.getInputStream(); OutputStream out = client.getOutputStream()) {
                            in.transferTo(out);
                        } catch (IOException e) {
                            // the client went away
                        }
                    });
                }
            } catch (IOException e) {
                // closed
            }
        });
    }

    /** One datagram to {@code to} and its answer; null when none came within {@code patience}. Call it in the namespace to send from. */
    public static byte[] udpRoundTrip(InetSocketAddress to, byte[] message, Duration patience) throws IOException {
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.setSoTimeout((int) patience.toMillis());
            socket.send(new DatagramPacket(message, message.length, to));
            byte[] buffer = new byte[65_535];
            DatagramPacket reply = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(reply);
                return Arrays.copyOf(buffer, reply.getLength());
            } catch (SocketTimeoutException e) {
                return null;
            }
        }
    }
}
