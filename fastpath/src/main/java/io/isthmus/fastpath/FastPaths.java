package io.isthmus.fastpath;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;

/**
 * What this node offers, found by trying it: {@link #probe()} for everything, or one probe per fast path. Nothing is
 * remembered between calls; a probe costs a socket and a datagram over loopback, so call it once at start and keep
 * the answer.
 */
public final class FastPaths {
    private static final byte[] PING = "isthmus fastpath probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final Duration PROBE_WAIT = Duration.ofSeconds(1);

    private FastPaths() {
    }

    /**
     * Every fast path this module knows, probed now.
     *
     * @param batchedUdp recvmmsg/sendmmsg through {@link BatchedUdpSocket}
     * @param tun        TUN devices through {@link TunDevice} (and rtnetlink through {@link RouteNetlink})
     * @param udpOffload UDP segmentation offload on send ({@link DatagramBatch#addSegment}) and receive coalescing
     *                   ({@link BatchedUdpSocket.Options#udpGro})
     */
    public record Report(Availability batchedUdp, Availability tun, Availability udpOffload) {
        /** One line per fast path. */
        @Override
        public String toString() {
            return "batched UDP (recvmmsg/sendmmsg): " + batchedUdp + System.lineSeparator() + "TUN: " + tun
                    + System.lineSeparator() + "UDP GSO/GRO: " + udpOffload;
        }
    }

    /**
     * Whether the XDP pre-filter ({@link XdpFilter}) can be used here: libbpf present, the kernel loading the program
     * (root or CAP_BPF), bpffs mounted or mountable; see {@link XdpFilter#probe()}.
     */
    public static Availability xdp() {
        return XdpFilter.probe();
    }

    public static Report probe() {
        return new Report(batchedUdp(), tun(), udpOffload());
    }

    /**
     * Whether UDP segmentation offload works here, both ways: a socket with {@code UDP_GRO} on 127.0.0.1 and another
     * that sends it a run of three datagrams (100, 100 and 50 bytes) in one message with {@code UDP_SEGMENT}; yes when
     * they arrive as one datagram of 250 bytes with segment size 100 (loopback keeps the run whole), and says what
     * happened otherwise.
     */
    public static Availability udpOffload() {
        var missing = Syscalls.unavailable();
        if (missing.isPresent()) {
            return Availability.no(missing.get());
        }
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        BatchedUdpSocket.Options options = BatchedUdpSocket.Options.defaults().withBatch(4, 65_535)
                .withReceiveTimeout(PROBE_WAIT);
        try (BatchedUdpSocket receiver = BatchedUdpSocket.open(loopback, options.withUdpGro(true));
             BatchedUdpSocket sender = BatchedUdpSocket.open(loopback, options)) {
            DatagramBatch out = sender.newBatch();
            byte[] run = new byte[250];
            for (int i = 0; i < run.length; i++) {
                run[i] = (byte) i;
            }
            out.addSegment(receiver.localAddress(), run, 0, 100);
            out.addSegment(receiver.localAddress(), run, 100, 100);
            out.addSegment(receiver.localAddress(), run, 200, 50);
            if (out.size() != 1 || sender.send(out) != 3) {
                return Availability.no("a run of 3 datagrams sent with UDP_SEGMENT on 127.0.0.1 was refused");
            }
            DatagramBatch in = receiver.newBatch();
            int received = receiver.receive(in);
            if (received == 1 && in.length(0) == 250 && in.segmentSize(0) == 100
                    && Arrays.equals(in.payloadBytes(0), run)) {
                return Availability.yes("UDP_SEGMENT and UDP_GRO work: a run of 3 datagrams went as one message and"
                        + " arrived as one datagram of 250 bytes with segment size 100");
            }
            return Availability.no("a run of 3 datagrams sent with UDP_SEGMENT arrived as " + received
                    + " datagram(s)" + (received > 0 ? " of " + in.length(0) + " bytes, segment size "
                    + in.segmentSize(0) : "") + ", not one of 250 bytes with segment size 100");
        } catch (IOException | RuntimeException e) {
            return Availability.no("UDP_SEGMENT/UDP_GRO on a test socket failed: " + e.getMessage());
        }
    }

    /**
     * Whether {@link TunDevice} works here, and which of its options: Linux x86_64 with native access, then
     * {@code /dev/net/tun} opened and its features asked ({@code TUNGETFEATURES}), then a real device made and
     * removed at once in the calling thread's network namespace (named {@code isthprobeN}, never up, so it carries
     * no traffic), with two queues and the vnet header with TCP (and, where the kernel has them, UDP) segmentation
     * offloads. The reason names what works, e.g. {@code TUN devices work: multi-queue, vnet header with offloads
     * [CHECKSUM, TSO4, TSO6, USO4, USO6]}, or what is missing and how to get it (CAP_NET_ADMIN, the tun module).
     */
    public static Availability tun() {
        return TunDevice.probe();
    }

    /**
     * Whether {@link BatchedUdpSocket} works here: Linux x86_64, native access enabled, {@code recvmmsg} and
     * {@code sendmmsg} in the C library, and a socket with SO_REUSEPORT on 127.0.0.1 that sends itself a datagram
     * with one and receives it with the other.
     */
    public static Availability batchedUdp() {
        var missing = Syscalls.unavailable();
        if (missing.isPresent()) {
            return Availability.no(missing.get());
        }
        BatchedUdpSocket.Options options = BatchedUdpSocket.Options.defaults()
                .withBatch(2, 64).withReusePort(true).withReceiveTimeout(PROBE_WAIT);
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (BatchedUdpSocket socket = BatchedUdpSocket.open(loopback, options)) {
            DatagramBatch out = socket.newBatch();
            out.add(socket.localAddress(), PING);
            if (socket.send(out) != 1) {
                return Availability.no("a test socket on " + BatchedUdpSocket.show(socket.localAddress())
                        + " could not send itself a datagram with sendmmsg");
            }
            DatagramBatch in = socket.newBatch();
            if (socket.receive(in) != 1 || !Arrays.equals(in.payloadBytes(0), PING)
                    || in.peerPort(0) != socket.localAddress().getPort()) {
                return Availability.no("a test socket on " + BatchedUdpSocket.show(socket.localAddress())
                        + " did not receive its own datagram with recvmmsg within " + PROBE_WAIT.toMillis() + " ms");
            }
            return Availability.yes("recvmmsg/sendmmsg and SO_REUSEPORT work (" + System.getProperty("os.name")
                    + " " + System.getProperty("os.version") + ", " + System.getProperty("os.arch") + ")");
        } catch (IOException | RuntimeException e) {
            return Availability.no("a test socket failed: " + e.getMessage());
        }
    }
}
