package io.isthmus.tunnel;

import com.sun.management.ThreadMXBean;
import io.isthmus.testing.SettableClock;
import java.lang.management.ManagementFactory;
import java.security.SecureRandom;
import java.time.Instant;

/**
 * Not a test: seal + open of one packet size in a loop on one thread, printing CPU ns per packet, Gbps of inner data
 * per core, and the bytes the JDK allocates per packet (what {@code Cipher.init} costs us).
 *
 * <pre>
 * java -cp ... io.isthmus.tunnel.PacketCipherBenchmark [PACKET_BYTES] [SECONDS]
 * </pre>
 */
public final class PacketCipherBenchmark {
    public static void main(String[] args) throws Exception {
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 1400;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        SecureRandom random = new SecureRandom();
        SettableClock clock = new SettableClock(Instant.now());
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (Suite suite : Suite.values()) {
            KeyExchange east = new KeyExchange(KeyExchangeTest.EAST, KeyExchangeTest.WEST, suite,
                    new ReceiverIndexes(random), random, clock);
            KeyExchange west = new KeyExchange(KeyExchangeTest.WEST, KeyExchangeTest.EAST, suite,
                    new ReceiverIndexes(random), random, clock);
            KeyExchange.Accepted accepted = west.onOffer(east.offer()).orElseThrow();
            Session sender = east.onAccept(accepted.reply());
            Session receiver = accepted.session();
            PacketCipher seal = new PacketCipher();
            PacketCipher open = new PacketCipher();
            byte[] plain = new byte[size];
            byte[] datagram = new byte[size + WireFormat.OVERHEAD];
            byte[] opened = new byte[size + WireFormat.OVERHEAD];
            long counter = 0;
            for (int round = 0; round < 2; round++) { // the first round warms up the JIT
                long packets = 0;
                long allocated = threads.getCurrentThreadAllocatedBytes();
                long cpu = threads.getCurrentThreadCpuTime();
                long start = System.nanoTime();
                long end = start + seconds * 1_000_000_000L;
                while (System.nanoTime() < end) {
                    for (int i = 0; i < 1000; i++) {
                        int length = seal.seal(sender, WireFormat.TYPE_DATA, 0, counter++, plain, 0, size, datagram, 0);
                        if (open.open(receiver, datagram, 0, length, opened, 0) != size) {
                            throw new AssertionError("did not open");
                        }
                    }
                    packets += 1000;
                }
                long wall = System.nanoTime() - start;
                long elapsed = threads.getCurrentThreadCpuTime() - cpu; // CPU time: this host is shared
                long bytes = threads.getCurrentThreadAllocatedBytes() - allocated;
                if (round == 1) {
                    System.out.printf("%-18s %5d B: %6.0f CPU ns per seal+open, %5.2f Gbps per core (one way), "
                                    + "%4d bytes allocated per packet (seal+open); %.0f%% of the wall time on CPU%n",
                            suite, size, (double) elapsed / packets, packets * size * 8.0 / elapsed, bytes / packets,
                            100.0 * elapsed / wall);
                }
            }
        }
    }
}
