package io.isthmus.gateway.cli;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The join flow as operators run it: the CA holder prints a token and serves joins; a new gateway configured with
 * the token file joins at start and peers with the cluster the token named; the token is spent; another cluster
 * joins with {@code isthmus join}.
 */
class JoinFlowTest {
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @TempDir
    Path root;

    @Test
    void aNewGatewayJoinsWithATokenAndPeersWithTheClustersItNames() throws Exception {
        Path ca = root.resolve("ca");
        assertEquals(0, Cli.run("mesh", "init", "--ca", ca.toString()).exitCode());
        Path westData = root.resolve("west");
        new TestPki(ca).issue("west", westData.resolve("tls"));
        int port = FreePorts.block(1);
        try (Gateway west = io.isthmus.gateway.TestGateways.start("west", root, westData, "")) {
            String westPeering = HostPort.format(west.peeringAddress());
            Cli token = Cli.run("mesh", "join-token", "--ca", ca.toString(), "--cluster", "east", "--ttl", "10m",
                    "--service", "https://127.0.0.1:" + port, "--peer", westPeering);
            assertEquals(0, token.exitCode(), token.toString());
            assertTrue(token.err().contains("usable once"), token.err());
            Path tokenFile = Files.writeString(root.resolve("east-join-token"), token.out());

            // its own thread: serve-joins blocks, and the gateways' start-up needs the common pool's only thread here
            CompletableFuture<Cli> serving = new CompletableFuture<>();
            Thread.ofPlatform().name("serve-joins").start(() -> serving.complete(Cli.run("mesh", "serve-joins",
                    "--ca", ca.toString(), "--listen", "127.0.0.1:" + port, "--max-joins", "2", "--for", "5m")));
            Await.until("the join service listens", PATIENCE, () -> connects(port));

            Path eastData = root.resolve("east");
            Path eastConfig = Files.writeString(root.resolve("east.conf"), """
                    isthmus {
                      cluster-id = east
                      data-dir = "%s"
                      admin.port = 0
                      admin.auth.enabled = off
                      peering.port = 0
                      dns.port = 0
                      replicas.port = 0
                      tls.join-token-file = "%s"
                    }
                    """.formatted(eastData, tokenFile));
            var config = GatewayCommand.loadJoined(eastConfig, new PrintStream(PrintStream.nullOutputStream()));
            assertEquals(java.util.List.of(HostPort.parse("peer", westPeering)), config.peering().peers(),
                    "the peers the token named are the new gateway's peers");
            try (Gateway east = Gateway.start(config)) {
                Await.until("east has an up link to west", PATIENCE, () -> east.mesh().links().values().stream()
                        .anyMatch(l -> ClusterId.of("west").equals(l.remote()) && l.state() == LinkState.UP));
                Await.until("west sees east", PATIENCE, () -> west.mesh().links().values().stream()
                        .anyMatch(l -> ClusterId.of("east").equals(l.remote()) && l.state() == LinkState.UP));
            }
            // started again, the joined gateway keeps its key and does not join again
            String key = Files.readString(eastData.resolve("tls").resolve("east.key"));
            GatewayCommand.loadJoined(eastConfig, new PrintStream(PrintStream.nullOutputStream()));
            assertEquals(key, Files.readString(eastData.resolve("tls").resolve("east.key")));

            Cli reused = Cli.run("join", "--token-file", tokenFile.toString(), "--tls-dir", root.resolve("again").toString());
            assertNotEquals(0, reused.exitCode());
            assertTrue(reused.err().contains("already used"), reused.toString());

            Cli northToken = Cli.run("mesh", "join-token", "--ca", ca.toString(), "--cluster", "north",
                    "--service", "https://127.0.0.1:" + port);
            Cli north = Cli.run("join", northToken.out().strip(), "--tls-dir", root.resolve("north-tls").toString());
            assertEquals(0, north.exitCode(), north + "\nserve-joins: " + (serving.isDone() ? serving.join() : "running"));
            assertTrue(north.out().contains("joined cluster north"), north.out());

            Cli served = serving.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            assertEquals(0, served.exitCode(), served.toString());
            assertTrue(served.out().contains("joined east") && served.out().contains("joined north")
                    && served.out().contains("refused east") && served.out().contains("after 2 joins"), served.out());
        }
    }

    @Test
    void badJoinInputNamesTheField() {
        Cli notAToken = Cli.run("join", "not-a-token", "--tls-dir", root.toString());
        assertEquals(2, notAToken.exitCode(), notAToken.toString());
        assertTrue(notAToken.err().contains("TOKEN"), notAToken.err());
        assertEquals(0, Cli.run("mesh", "init", "--ca", root.resolve("ca").toString()).exitCode());
        Cli badService = Cli.run("mesh", "join-token", "--ca", root.resolve("ca").toString(), "--cluster", "east",
                "--service", "http://127.0.0.1:1");
        assertEquals(2, badService.exitCode(), badService.toString());
        assertTrue(badService.err().contains("--service"), badService.err());
        Cli badPeer = Cli.run("mesh", "join-token", "--ca", root.resolve("ca").toString(), "--cluster", "east",
                "--peer", "nowhere");
        assertEquals(2, badPeer.exitCode(), badPeer.toString());
        assertTrue(badPeer.err().contains("--peer"), badPeer.err());
        Cli longTtl = Cli.run("mesh", "join-token", "--ca", root.resolve("ca").toString(), "--cluster", "east", "--ttl", "8d");
        assertNotEquals(0, longTtl.exitCode(), longTtl.toString());
        assertTrue(longTtl.err().contains("--ttl"), longTtl.err());
    }

    private static boolean connects(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
