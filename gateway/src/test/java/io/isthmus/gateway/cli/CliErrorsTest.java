package io.isthmus.gateway.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input on the command line or in a config file: one clear message naming field and value, nothing persisted. */
class CliErrorsTest {
    @TempDir
    Path dir;

    private Cli gatewayWith(String settings) throws Exception {
        Path config = dir.resolve("gateway.conf");
        Files.writeString(config, "isthmus {\n  data-dir = \"state\"\n" + settings + "\n}\n");
        return Cli.run("gateway", "--config", config.toString());
    }

    private void assertRejected(Cli cli, String... fragments) {
        assertEquals(2, cli.exitCode(), cli::toString);
        String firstLine = cli.err().lines().findFirst().orElse("");
        for (String fragment : fragments) {
            assertTrue(firstLine.contains(fragment), () -> "expected '" + fragment + "' in: " + cli);
        }
        assertFalse(Files.exists(dir.resolve("state")), "nothing may be persisted: " + cli);
    }

    @Test
    void gatewayRejectsAClusterIdThatIsNotADnsLabel() throws Exception {
        assertRejected(gatewayWith("cluster-id = \"East_1\""), "isthmus.cluster-id", "'East_1'");
    }

    @Test
    void gatewayRejectsAMissingClusterId() throws Exception {
        assertRejected(gatewayWith(""), "isthmus.cluster-id", "required");
    }

    @Test
    void gatewayRejectsAnUnknownConfigKey() throws Exception {
        assertRejected(gatewayWith("cluster-id = east\ndns { zonee = \"x.local\" }"), "isthmus.dns.zonee", "unknown setting");
    }

    @Test
    void gatewayRejectsAMalformedPeerAddress() throws Exception {
        assertRejected(gatewayWith("cluster-id = east\npeering.peers = [\"10.0.0.1\"]"),
                "isthmus.peering.peers", "'10.0.0.1'", "HOST:PORT");
    }

    @Test
    void gatewayRejectsAPortAlreadyInUse() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();
            assertRejected(gatewayWith("cluster-id = east\nadmin.port = " + port),
                    "isthmus.admin.port", "127.0.0.1:" + port, "already in use");
        }
    }

    @Test
    void gatewayRejectsAMissingConfigFile() {
        Cli cli = Cli.run("gateway", "--config", dir.resolve("nope.conf").toString());
        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().contains("--config") && cli.err().contains("no such file"), cli::toString);
    }

    @Test
    void exportRejectsAnInvalidPortBeforeContactingTheGateway() {
        Cli cli = Cli.run("export", "--admin", "http://127.0.0.1:1", "--namespace", "shop", "--name", "cart",
                "--port", "80000/TCP", "--ip", "10.0.0.1");
        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().startsWith("isthmus: invalid --port '80000/TCP'"), cli::toString);
    }

    @Test
    void exportRejectsAnInvalidIp() {
        Cli cli = Cli.run("export", "--admin", "http://127.0.0.1:1", "--namespace", "shop", "--name", "cart",
                "--port", "80/TCP", "--ip", "10.0.0.256");
        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().startsWith("isthmus: invalid --ip '10.0.0.256'"), cli::toString);
    }

    @Test
    void exportRejectsAnUpperCaseNamespace() {
        Cli cli = Cli.run("export", "--namespace", "Shop", "--name", "cart", "--port", "80", "--ip", "10.0.0.1");
        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().startsWith("isthmus: invalid --namespace 'Shop'"), cli::toString);
    }

    @Test
    void commandsSayClearlyWhenNoGatewayListens() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        Cli status = Cli.run("status", "--admin", "http://127.0.0.1:" + port);
        assertEquals(1, status.exitCode(), status::toString);
        assertTrue(status.err().contains("cannot reach the gateway's admin API at http://127.0.0.1:" + port),
                status::toString);
    }

    @Test
    void adminUrlMustBeHttpWithHostAndPort() {
        Cli cli = Cli.run("status", "--admin", "localhost:7070");
        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().contains("invalid --admin 'localhost:7070'"), cli::toString);
    }

    @Test
    void demoRejectsABasePortWithoutRoomForThirtyPorts() {
        Cli cli = Cli.run("demo", "--base-port", "65530", "--data", dir.resolve("demo").toString());
        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().contains("invalid --base-port '65530'"), cli::toString);
        assertFalse(Files.exists(dir.resolve("demo")));
    }

    @Test
    void gatewayWithoutItsPeeringCertificateRefusesToStart() throws Exception {
        assertRejected(gatewayWith("cluster-id = east\nadmin.port = 0\npeering.port = 0\ndns.port = 0\nreplicas.port = 0"),
                "isthmus.tls.dir", "east.crt", "isthmus mesh issue");
    }

    @Test
    void gatewayWithAnotherClustersCertificateRefusesToStart() throws Exception {
        new TestPki(dir.resolve("ca")).issue("west", dir.resolve("state").resolve("tls"));
        java.nio.file.Files.move(dir.resolve("state/tls/west.crt"), dir.resolve("state/tls/east.crt"));
        java.nio.file.Files.move(dir.resolve("state/tls/west.key"), dir.resolve("state/tls/east.key"));
        Cli cli = gatewayWith("cluster-id = east\nadmin.port = 0\npeering.port = 0\ndns.port = 0\nreplicas.port = 0");
        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().contains("certificate for cluster 'west'"), cli::toString);
        assertFalse(Files.exists(dir.resolve("state/journal.mv.db")), "nothing may be persisted: " + cli);
    }

    @Test
    void meshCommandsMakeACaIssueAndRefuseToOverwriteIt() {
        Cli init = Cli.run("mesh", "init", "--ca", dir.resolve("ca").toString());
        assertEquals(0, init.exitCode(), init::toString);
        Cli again = Cli.run("mesh", "init", "--ca", dir.resolve("ca").toString());
        assertEquals(1, again.exitCode(), again::toString);
        Cli issue = Cli.run("mesh", "issue", "--ca", dir.resolve("ca").toString(), "--cluster", "east",
                "--out", dir.resolve("tls").toString());
        assertEquals(0, issue.exitCode(), issue::toString);
        assertTrue(Files.exists(dir.resolve("tls/east.crt")) && Files.exists(dir.resolve("tls/east.key")));
        Cli badCluster = Cli.run("mesh", "issue", "--ca", dir.resolve("ca").toString(), "--cluster", "East",
                "--out", dir.resolve("tls").toString());
        assertEquals(2, badCluster.exitCode(), badCluster::toString);
        assertTrue(badCluster.err().contains("invalid --cluster 'East'"), badCluster::toString);
        Cli list = Cli.run("mesh", "list", "--ca", dir.resolve("ca").toString());
        assertTrue(list.out().contains("east") && list.out().contains("no"), list::toString);
        Cli revoke = Cli.run("mesh", "revoke", "--ca", dir.resolve("ca").toString(), "--cluster", "east");
        assertEquals(0, revoke.exitCode(), revoke::toString);
        assertTrue(Cli.run("mesh", "list", "--ca", dir.resolve("ca").toString()).out().contains("yes"));
    }
}
