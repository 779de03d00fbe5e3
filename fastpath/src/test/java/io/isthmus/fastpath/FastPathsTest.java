package io.isthmus.fastpath;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FastPathsTest {

    @Test
    void theProbeReportsBatchedUdpAvailableOnThisLinuxX8664Node() {
        Availability batchedUdp = FastPaths.probe().batchedUdp();
        assertTrue(batchedUdp.available(), batchedUdp.toString());
        assertTrue(batchedUdp.reason().startsWith("recvmmsg/sendmmsg and SO_REUSEPORT work (Linux"), batchedUdp.reason());
    }

    @Test
    void withoutNativeAccessTheProbeSaysWhichFlagToAddAndTheJvmDoesNotWarn() throws Exception {
        Run run = java(List.of());

        assertEquals(List.of("batched UDP (recvmmsg/sendmmsg): unavailable: native access is not enabled for the class"
                        + " path: add --enable-native-access=ALL-UNNAMED to the java command line",
                "TUN: unavailable: native access is not enabled for the class path: add"
                        + " --enable-native-access=ALL-UNNAMED to the java command line",
                "UDP GSO/GRO: unavailable: native access is not enabled for the class path: add"
                        + " --enable-native-access=ALL-UNNAMED to the java command line"),
                run.stdout().strip().lines().toList());
        assertFalse(run.stderr().contains("restricted method"), run.stderr());
    }

    @Test
    void withNativeAccessEnabledAFreshJvmFindsItAvailable() throws Exception {
        Run run;
        try (TestNamespace ns = TestNamespace.create("isthmus-probe")) { // its test device is made there
            run = java(List.of("ip", "netns", "exec", ns.name()), List.of("--enable-native-access=ALL-UNNAMED"),
                    PrintProbe.class);
        }

        assertTrue(run.stdout().startsWith("batched UDP (recvmmsg/sendmmsg): available: "), run.stdout() + run.stderr());
        assertTrue(run.stdout().contains("\nTUN: available: TUN devices work: multi-queue, vnet header with offloads"),
                run.stdout() + run.stderr());
        assertTrue(run.stdout().contains("\nUDP GSO/GRO: available: UDP_SEGMENT and UDP_GRO work"),
                run.stdout() + run.stderr());
    }

    @Test
    void theProbeReportsUdpSegmentationAndCoalescingAvailableOnThisKernel() {
        Availability udpOffload = FastPaths.udpOffload();
        assertTrue(udpOffload.available(), udpOffload.toString());
        assertTrue(udpOffload.reason().startsWith("UDP_SEGMENT and UDP_GRO work: a run of 3 datagrams went as one"
                + " message and arrived as one datagram of 250 bytes with segment size 100"), udpOffload.reason());
    }

    @Test
    void theProbeReportsTunAvailableWithMultiQueueAndOffloadsHereAndLeavesNoDevice() throws Exception {
        try (TestNamespace ns = TestNamespace.create("isthmus-probe")) {
            Availability tun = ns.namespace().call(FastPaths::tun);
            assertTrue(tun.available(), tun.toString());
            assertTrue(tun.reason().startsWith("TUN devices work: multi-queue, vnet header with offloads [CHECKSUM,"
                    + " TSO4, TSO6"), tun.reason());
            assertFalse(ns.ip("link").contains("isthprobe"));
        }
    }

    @Test
    void withoutCapNetAdminTunAndNetlinkSayThatCapabilityIsNeeded() throws Exception {
        Run run;
        try (TestNamespace ns = TestNamespace.create("isthmus-noperm")) { // should the capability stay, no harm
            run = java(List.of("ip", "netns", "exec", ns.name(), "setpriv", "--bounding-set", "-net_admin",
                    "--inh-caps", "-net_admin"), List.of("--enable-native-access=ALL-UNNAMED"),
                    PrintUnprivilegedFailures.class);
        }

        assertEquals(List.of("tun: creating tun device isthnoperm: TUNSETIFF failed: EPERM; needs CAP_NET_ADMIN (run"
                        + " as root, or grant the process that capability)",
                "netlink: setting link lo up failed: EPERM; needs CAP_NET_ADMIN (run as root, or grant the process that"
                        + " capability)"), run.stdout().strip().lines().toList(), run.stderr());
    }

    @Test
    void structLayoutsMatchTheLinuxX8664Abi() {
        assertEquals(16, Syscalls.IOVEC.byteSize());
        assertEquals(56, Syscalls.MSGHDR.byteSize());
        assertEquals(8, Syscalls.MSGHDR.byteOffset(groupElement("msg_namelen")));
        assertEquals(16, Syscalls.MSGHDR.byteOffset(groupElement("msg_iov")));
        assertEquals(24, Syscalls.MSGHDR.byteOffset(groupElement("msg_iovlen")));
        assertEquals(32, Syscalls.MSGHDR.byteOffset(groupElement("msg_control")));
        assertEquals(48, Syscalls.MSGHDR.byteOffset(groupElement("msg_flags")));
        assertEquals(64, Syscalls.MMSGHDR.byteSize());
        assertEquals(56, Syscalls.MMSGHDR.byteOffset(groupElement("msg_len")));
        assertEquals(16, Syscalls.SOCKADDR_IN.byteSize());
        assertEquals(4, Syscalls.SOCKADDR_IN.byteOffset(groupElement("sin_addr")));
        assertEquals(28, Syscalls.SOCKADDR_IN6.byteSize());
        assertEquals(8, Syscalls.SOCKADDR_IN6.byteOffset(groupElement("sin6_addr")));
        assertEquals(24, Syscalls.SOCKADDR_IN6.byteOffset(groupElement("sin6_scope_id")));
        assertEquals(16, Syscalls.TIMEVAL.byteSize());
        assertEquals(40, Syscalls.IFREQ.byteSize());
        assertEquals(16, Syscalls.IFREQ.byteOffset(groupElement("ifr_flags")));
        assertEquals(8, Syscalls.POLLFD.byteSize());
        assertEquals(6, Syscalls.POLLFD.byteOffset(groupElement("revents")));
        assertEquals(12, Syscalls.SOCKADDR_NL.byteSize());
    }

    private record Run(String stdout, String stderr) {
    }

    /** Runs {@link PrintProbe} in a new JVM with {@code flags} and this test's class path. */
    private static Run java(List<String> flags) throws IOException, InterruptedException {
        return java(List.of(), flags, PrintProbe.class);
    }

    /** Runs {@code main} in a new JVM, started through {@code wrapper} (e.g. setpriv), with {@code flags}. */
    private static Run java(List<String> wrapper, List<String> flags, Class<?> main)
            throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(wrapper);
        command.add(java);
        command.addAll(flags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().close();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the probe JVM did not finish in 30 s");
        }
        return new Run(new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
