package io.isthmus.gateway.peering;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.isthmus.gateway.config.HostPort;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Waiting for a restarted peer: it is dialled as soon as its port listens, not after a grown backoff. */
class PeerLinksTest {

    @Test
    void aPeerThatStartsListeningIsNoticedWithinTheProbeInterval() throws Exception {
        int port = freePort();
        HostPort peer = new HostPort("127.0.0.1", port);
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            CompletableFuture<?> listening = PeerLinks.whenListening(peer, Duration.ofMillis(50), Duration.ofSeconds(1),
                    () -> false, executor).toCompletableFuture();
            Thread.sleep(300);
            assertFalse(listening.isDone(), "nothing listens yet");
            try (ServerSocket server = new ServerSocket()) {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                listening.get(5, TimeUnit.SECONDS); // within a probe interval, with room for a busy machine
            }
        }
    }

    @Test
    void waitingStopsWhenTheLinksClose() throws Exception {
        HostPort peer = new HostPort("127.0.0.1", freePort());
        AtomicBoolean closed = new AtomicBoolean();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            CompletableFuture<?> listening = PeerLinks.whenListening(peer, Duration.ofMillis(20), Duration.ofSeconds(1),
                    closed::get, executor).toCompletableFuture();
            closed.set(true);
            ExecutionException failure = assertThrows(ExecutionException.class, () -> listening.get(5, TimeUnit.SECONDS));
            assertInstanceOf(java.util.concurrent.CancellationException.class, failure.getCause());
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
