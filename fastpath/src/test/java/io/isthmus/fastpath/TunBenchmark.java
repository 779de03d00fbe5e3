package io.isthmus.fastpath;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TUN throughput with reused buffers (not a test; prints figures, asserts nothing). Needs root; makes network
 * namespaces named {@code isthmus-tunbench-*} and deletes them afterwards.
 *
 * <pre>
 * ./mvnw -B -o -q -pl fastpath test-compile
 * java --enable-native-access=ALL-UNNAMED -cp fastpath/target/classes:fastpath/target/test-classes \
 *     io.isthmus.fastpath.TunBenchmark [forward|relay|all] [seconds=5] [queues=1] [payload=64]
 * </pre>
 *
 * <ul>
 *   <li>{@code forward}: packets/s through write + read. Writer threads write a prebuilt IPv4/UDP packet into device
 *   {@code in} (one per queue, from one reused native buffer); the kernel forwards it to device {@code out}, whose
 *   reader threads read it into one reused buffer each. Every write is one system call that also runs the kernel's
 *   forwarding; every read one more. Prints written and read packets/s, and the JVM process's CPU (user + system,
 *   which includes the kernel work done in those calls).</li>
 *   <li>{@code relay}: TCP through two devices in two namespaces joined by a Java relay (read one, write the other,
 *   both ways; what the tunnel does, minus the crypto), measured by iperf3, three ways: plain packets, the vnet
 *   header without offloads, and the vnet header with checksum and TCP segmentation offloads (GSO packets up to
 *   64 KiB cross the relay whole).</li>
 * </ul>
 */
public final class TunBenchmark {
    private static final Duration WARM_UP = Duration.ofSeconds(1);
    private static final Pattern RECEIVED_BPS = Pattern.compile(
            "\"sum_received\"\\s*:\\s*\\{[^}]*?\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)");

    private TunBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "all";
        int seconds = arg(args, 1, 5);
        int queues = arg(args, 2, 1);
        int payload = arg(args, 3, 64);
        System.out.println(FastPaths.probe());
        System.out.printf(Locale.ROOT, "%d cores, load average %.2f%n", Runtime.getRuntime().availableProcessors(),
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        if (mode.equals("forward") || mode.equals("all")) {
            forward(Duration.ofSeconds(seconds), queues, payload);
            if (payload != 1400) {
                forward(Duration.ofSeconds(seconds), queues, 1400);
            }
        }
        if (mode.equals("relay") || mode.equals("all")) {
            relay(Duration.ofSeconds(seconds), queues, TunDevice.Options.defaults(), "plain");
            relay(Duration.ofSeconds(seconds), queues, TunDevice.Options.defaults().withVnetHeader(EnumSet.noneOf(
                    TunDevice.Offload.class)), "vnet header, no offloads");
            TunDevice.Options offloads = TunDevice.Options.defaults().withVnetHeader(EnumSet.of(
                    TunDevice.Offload.CHECKSUM, TunDevice.Offload.TSO4, TunDevice.Offload.TSO6));
            relay(Duration.ofSeconds(seconds), queues, offloads, "vnet header + CHECKSUM/TSO4/TSO6");
            relaySegmented(Duration.ofSeconds(seconds), offloads, false);
            relaySegmented(Duration.ofSeconds(seconds), offloads, true);
        }
    }

    private static void forward(Duration measure, int queues, int payload) throws Exception {
        try (TestNamespace ns = TestNamespace.create("isthmus-tunbench")) {
            ns.sysctl("net.ipv4.ip_forward", "1");
            ns.sysctl("net.ipv4.conf.all.rp_filter", "0");
            ns.sysctl("net.ipv4.conf.default.rp_filter", "0");
            TunDevice.Options options = TunDevice.Options.defaults().withQueues(queues);
            try (TunDevice in = ns.namespace().call(() -> TunDevice.open("benchin", options));
                 TunDevice out = ns.namespace().call(() -> TunDevice.open("benchout", options));
                 RouteNetlink netlink = ns.namespace().call(RouteNetlink::open);
                 Arena arena = Arena.ofShared()) {
                netlink.addAddress("benchin", IpPrefix.parse("10.201.0.1/24"));
                netlink.addAddress("benchout", IpPrefix.parse("10.202.0.1/24"));
                netlink.setUp("benchin", true);
                netlink.setUp("benchout", true);
                netlink.addRoute(Route.to(IpPrefix.parse("10.203.0.0/16"), "benchout"));
                AtomicLong written = new AtomicLong();
                AtomicLong refused = new AtomicLong();
                AtomicLong read = new AtomicLong();
                List<Thread> threads = new ArrayList<>();
                long stopAt = System.nanoTime() + WARM_UP.plus(measure).toNanos();
                for (int q = 0; q < queues; q++) {
                    TunQueue writer = in.queue(q);
                    TunQueue reader = out.queue(q);
                    // One flow per queue, so the kernel spreads them over the out device's queues.
                    byte[] packet = Packets.udp(InetAddress.getByName("10.201.0.2"), 1000 + q,
                            InetAddress.getByName("10.203.0." + (1 + q)), 9, new byte[payload]);
                    MemorySegment outgoing = arena.allocate(packet.length);
                    MemorySegment.copy(packet, 0, outgoing, ValueLayout.JAVA_BYTE, 0, packet.length);
                    MemorySegment incoming = arena.allocate(65_536);
                    threads.add(Thread.ofPlatform().name("bench-write-" + q).start(() -> {
                        try {
                            long batch = 0;
                            long localRefused = 0;
                            while (System.nanoTime() < stopAt) {
                                if (writer.write(outgoing)) {
                                    batch++;
                                } else {
                                    localRefused++;
                                }
                                if (batch == 256) {
                                    written.addAndGet(batch);
                                    batch = 0;
                                }
                            }
                            written.addAndGet(batch);
                            refused.addAndGet(localRefused);
                        } catch (IOException e) {
                            throw new RuntimeException(e);
                        }
                    }));
                    threads.add(Thread.ofPlatform().name("bench-read-" + q).start(() -> {
                        try {
                            while (true) {
                                reader.read(incoming);
                                read.incrementAndGet();
                            }
                        } catch (ClosedChannelException e) {
                            // done
                        } catch (IOException e) {
                            throw new RuntimeException(e);
                        }
                    }));
                }
                Thread.sleep(WARM_UP.toMillis());
                long writtenStart = written.get();
                long readStart = read.get();
                long cpuStart = processCpuNanos();
                long wallStart = System.nanoTime();
                Thread.sleep(measure.toMillis());
                double wall = (System.nanoTime() - wallStart) / 1e9;
                double cpu = (processCpuNanos() - cpuStart) / 1e9;
                long writtenCount = written.get() - writtenStart;
                long readCount = read.get() - readStart;
                for (Thread t : threads) {
                    if (t.getName().startsWith("bench-write")) {
                        t.join(5000);
                    }
                }
                Thread.sleep(100);
                in.close();
                out.close();
                for (Thread t : threads) {
                    t.join(5000);
                }
                int packetBytes = 28 + payload;
                System.out.printf(Locale.ROOT, "forward %d-byte IPv4/UDP packets, %d queue(s), %d s: written %,.0f"
                                + " pkt/s, read %,.0f pkt/s (%.1f Gbit/s of packets), %.0f%% of written read;"
                                + " refused %d; JVM process CPU %.2f cores, %.2f µs CPU per packet read%n",
                        packetBytes, queues, measure.toSeconds(), writtenCount / wall, readCount / wall,
                        readCount * packetBytes * 8 / wall / 1e9, 100.0 * readCount / Math.max(1, writtenCount),
                        refused.get(), cpu / wall, cpu * 1e6 / Math.max(1, readCount));
            }
        }
    }

    private static void relay(Duration measure, int queues, TunDevice.Options base, String label) throws Exception {
        TunDevice.Options options = base.withQueues(queues);
        try (TestNamespace left = TestNamespace.create("isthmus-tunbench-l");
             TestNamespace right = TestNamespace.create("isthmus-tunbench-r")) {
            try (TunDevice leftTun = left.namespace().call(() -> TunDevice.open("relay0", options));
                 TunDevice rightTun = right.namespace().call(() -> TunDevice.open("relay0", options));
                 Arena arena = Arena.ofShared()) {
                configure(left, "10.210.0.1/24", "10.211.0.0/24");
                configure(right, "10.211.0.1/24", "10.210.0.0/24");
                AtomicLong packets = new AtomicLong();
                AtomicLong bytes = new AtomicLong();
                List<Thread> threads = new ArrayList<>();
                for (int q = 0; q < queues; q++) {
                    threads.add(pump(leftTun.queue(q), rightTun.queue(q), arena, packets, bytes));
                    threads.add(pump(rightTun.queue(q), leftTun.queue(q), arena, packets, bytes));
                }
                Process server = new ProcessBuilder("ip", "netns", "exec", right.name(), "iperf3", "-s", "-1",
                        "-B", "10.211.0.1").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start();
                Thread.sleep(300);
                long cpuStart = processCpuNanos();
                long packetsStart = packets.get();
                long bytesStart = bytes.get();
                long wallStart = System.nanoTime();
                String json = TestNamespace.run(List.of("ip", "netns", "exec", left.name(), "iperf3", "-c",
                        "10.211.0.1", "-t", Long.toString(measure.toSeconds()), "-J"));
                double wall = (System.nanoTime() - wallStart) / 1e9;
                double cpu = (processCpuNanos() - cpuStart) / 1e9;
                long relayed = packets.get() - packetsStart;
                long relayedBytes = bytes.get() - bytesStart;
                server.waitFor(5, TimeUnit.SECONDS);
                server.destroyForcibly();
                leftTun.close();
                rightTun.close();
                for (Thread t : threads) {
                    t.join(5000);
                }
                Matcher m = RECEIVED_BPS.matcher(json);
                String gbps = m.find() ? String.format(Locale.ROOT, "%.2f", Double.parseDouble(m.group(1)) / 1e9)
                        : "? (no iperf3 result: " + json.substring(0, Math.min(200, json.length())) + ")";
                System.out.printf(Locale.ROOT, "relay TCP (iperf3, %d s), %s, %d queue(s): %s Gbit/s; relayed %,.0f"
                                + " pkt/s of %,.0f bytes on average; relay JVM CPU %.2f cores%n",
                        measure.toSeconds(), label, queues, gbps, relayed / wall,
                        relayedBytes / (double) Math.max(1, relayed), cpu / wall);
            }
        }
    }

    /**
     * The tunnel's shape: the sender's device hands over TSO super-packets, {@link GsoSegmenter} cuts them into
     * MTU-sized packets, and those are written one by one into a plain device on the other side; the way back is
     * plain packets given a zero vnet header. One queue.
     */
    private static void relaySegmented(Duration measure, TunDevice.Options offloads, boolean coalesce)
            throws Exception {
        TunDevice.Options rightOptions = coalesce ? offloads : TunDevice.Options.defaults();
        try (TestNamespace left = TestNamespace.create("isthmus-tunbench-l");
             TestNamespace right = TestNamespace.create("isthmus-tunbench-r");
             TunDevice leftTun = left.namespace().call(() -> TunDevice.open("relay0", offloads));
             TunDevice rightTun = right.namespace().call(() -> TunDevice.open("relay0", rightOptions));
             Arena arena = Arena.ofShared()) {
            configure(left, "10.210.0.1/24", "10.211.0.0/24");
            configure(right, "10.211.0.1/24", "10.210.0.0/24");
            AtomicLong reads = new AtomicLong();
            AtomicLong written = new AtomicLong();
            MemorySegment in = arena.allocate(65_536 + TunDevice.VNET_HEADER_SIZE);
            MemorySegment out = arena.allocate(2048);
            MemorySegment back = arena.allocate(65_536 + TunDevice.VNET_HEADER_SIZE);
            TunQueue toRight = rightTun.queue(0);
            TcpCoalescer coalescer = new TcpCoalescer(arena, 64);
            GsoSegmenter.PacketSink write = coalesce
                    ? (buffer, offset, length) -> {
                        if (!coalescer.add(buffer, offset, length)) {
                            coalescer.flush(toRight);
                            coalescer.add(buffer, offset, length);
                        }
                    }
                    : (buffer, offset, length) -> toRight.write(buffer, offset, length);
            GsoSegmenter segmenter = new GsoSegmenter();
            Thread there = Thread.ofPlatform().name("relay-there").start(() -> {
                try {
                    while (true) {
                        written.addAndGet(segmenter.segment(in, 0, leftTun.queue(0).read(in), out, 0, write));
                        if (coalesce) {
                            coalescer.flush(toRight);
                        }
                        reads.incrementAndGet();
                    }
                } catch (IOException e) {
                    // closed
                }
            });
            Thread backThread = Thread.ofPlatform().name("relay-back").start(() -> {
                try {
                    while (true) {
                        if (coalesce) {
                            leftTun.queue(0).write(back, 0, rightTun.queue(0).read(back));
                            continue;
                        }
                        int length = rightTun.queue(0).read(back, TunDevice.VNET_HEADER_SIZE, 65_536);
                        GsoSegmenter.writePlainHeader(back, 0);
                        leftTun.queue(0).write(back, 0, TunDevice.VNET_HEADER_SIZE + length);
                    }
                } catch (IOException e) {
                    // closed
                }
            });
            Process server = new ProcessBuilder("ip", "netns", "exec", right.name(), "iperf3", "-s", "-1",
                    "-B", "10.211.0.1").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            Thread.sleep(300);
            long cpuStart = processCpuNanos();
            long readsStart = reads.get();
            long writtenStart = written.get();
            long wallStart = System.nanoTime();
            String json = TestNamespace.run(List.of("ip", "netns", "exec", left.name(), "iperf3", "-c",
                    "10.211.0.1", "-t", Long.toString(measure.toSeconds()), "-J"));
            double wall = (System.nanoTime() - wallStart) / 1e9;
            double cpu = (processCpuNanos() - cpuStart) / 1e9;
            long readCount = reads.get() - readsStart;
            long writtenCount = written.get() - writtenStart;
            server.waitFor(5, TimeUnit.SECONDS);
            server.destroyForcibly();
            leftTun.close();
            rightTun.close();
            there.join(5000);
            backThread.join(5000);
            Matcher m = RECEIVED_BPS.matcher(json);
            String gbps = m.find() ? String.format(Locale.ROOT, "%.2f", Double.parseDouble(m.group(1)) / 1e9) : "?";
            System.out.printf(Locale.ROOT, "relay TCP (iperf3, %d s), TSO on the sender, cut by GsoSegmenter into"
                            + " MTU-sized packets%s: %s Gbit/s; %,.0f reads/s gave %,.0f packets/s (%.1f per"
                            + " read); relay JVM CPU %.2f cores%n", measure.toSeconds(), coalesce
                            ? ", merged again by TcpCoalescer (64 slots) and written as GSO packets"
                            : ", written one by one", gbps, readCount / wall,
                    writtenCount / wall, writtenCount / (double) Math.max(1, readCount), cpu / wall);
        }
    }

    private static void configure(TestNamespace ns, String address, String remote) throws Exception {
        try (RouteNetlink netlink = ns.namespace().call(RouteNetlink::open)) {
            netlink.addAddress("relay0", IpPrefix.parse(address));
            netlink.setUp("relay0", true);
            netlink.addRoute(Route.to(IpPrefix.parse(remote), "relay0"));
        }
    }

    /** Reads packets from {@code from} and writes them to {@code to}, one reused buffer, until either closes. */
    private static Thread pump(TunQueue from, TunQueue to, Arena arena, AtomicLong packets, AtomicLong bytes) {
        MemorySegment buffer = arena.allocate(65_536 + TunDevice.VNET_HEADER_SIZE);
        return Thread.ofPlatform().name("relay-" + from.device().name() + "-" + from.index()).start(() -> {
            try {
                while (true) {
                    int length = from.read(buffer);
                    to.write(buffer, 0, length);
                    packets.incrementAndGet();
                    bytes.addAndGet(length);
                }
            } catch (ClosedChannelException e) {
                // done
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static int arg(String[] args, int index, int otherwise) {
        return args.length > index ? Integer.parseInt(args[index]) : otherwise;
    }
}
