package io.isthmus.gateway.cli;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Finds loopback port blocks free for both TCP and UDP, for gateways started by tests. */
final class FreePorts {
    private FreePorts() {
    }

    /** The first port of {@code count} consecutive ports that are all free now. */
    static int block(int count) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(20_000, 32_000); // below Linux's ephemeral range (32768-60999): outgoing connections never take them
            boolean free = true;
            for (int port = base; port < base + count && free; port++) {
                free = isFree(port);
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("no block of " + count + " free ports found");
    }

    static boolean isFree(int port) {
        try (ServerSocket tcp = new ServerSocket();
             DatagramSocket udp = new DatagramSocket(null)) {
            tcp.bind(new InetSocketAddress("127.0.0.1", port));
            udp.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
