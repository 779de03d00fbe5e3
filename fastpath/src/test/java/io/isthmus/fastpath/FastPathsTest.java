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

        assertEquals("batched UDP (recvmmsg/sendmmsg): unavailable: native access is not enabled for the class path:"
                + " add --enable-native-access=ALL-UNNAMED to the java command line", run.stdout().strip());
        assertFalse(run.stderr().contains("restricted method"), run.stderr());
    }

    @Test
    void withNativeAccessEnabledAFreshJvmFindsItAvailable() throws Exception {
        Run run = java(List.of("--enable-native-access=ALL-UNNAMED"));

        assertTrue(run.stdout().startsWith("batched UDP (recvmmsg/sendmmsg): available: "), run.stdout() + run.stderr());
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
    }

    private record Run(String stdout, String stderr) {
    }

    /** Runs {@link PrintProbe} in a new JVM with {@code flags} and this test's class path. */
    private static Run java(List<String> flags) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(flags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), PrintProbe.class.getName()));
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
