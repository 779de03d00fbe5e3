package io.isthmus.ipam.cni;

import io.isthmus.testing.Netns;
import io.isthmus.testing.PluginRun;
import com.fasterxml.jackson.databind.JsonNode;
import io.isthmus.api.Cidr;
import io.isthmus.ipam.cni.CniBackend.Attachment;
import io.isthmus.ipam.cni.CniBackend.Route;
import io.isthmus.ipam.cni.InMemoryCniBackend.PoolSpec;
import io.isthmus.testing.PluginRun.Env;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code isthmus-ipam} executable (as built into the classes and installed by {@link CniPluginInstaller}) against
 * a {@link CniServer} on a temporary socket, called directly as a runtime calls an IPAM plugin; no main plugin and no
 * namespaces, so no root needed.
 */
class CniPluginProtocolTest {
    private static final Duration RESERVATION_TTL = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final TestClock clock = new TestClock();
    private InMemoryCniBackend backend;
    private CniServer server;
    private Path plugin;
    private Path socket;

    @BeforeEach
    void start() throws IOException {
        backend = new InMemoryCniBackend(clock, RESERVATION_TTL,
                new PoolSpec("blue", Cidr.parse("subnet", "10.77.0.0/24"), ip("10.77.0.1"),
                        List.of(new Route(Cidr.parse("dst", "0.0.0.0/0"), Optional.empty()),
                                new Route(Cidr.parse("dst", "10.200.0.0/16"), Optional.of(ip("10.77.0.254"))))),
                new PoolSpec("tiny", Cidr.parse("subnet", "10.78.0.0/30"), ip("10.78.0.1"), List.of()));
        plugin = CniPluginInstaller.installTo(dir.resolve("bin"));
        socket = dir.resolve("run/isthmus/ipam.sock"); // the directory does not exist yet: the server makes it
        server = CniServer.start(socket, backend, Duration.ofSeconds(5));
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    private String config(String version, String pool) {
        return """
                {"cniVersion": "%s", "name": "podnet", "type": "macvlan",
                 "ipam": {"type": "isthmus-ipam", "pool": "%s", "socket": "%s"}}""".formatted(version, pool, socket);
    }

    private PluginRun call(String command, String containerId, String stdin) {
        return call(PluginRun.command(command, containerId, "/var/run/netns/pod-" + containerId, "eth0", plugin.getParent().toString()), stdin);
    }

    private PluginRun call(Env env, String stdin) {
        return PluginRun.run(List.of(plugin.toString()), env, stdin);
    }

    @Test
    void versionIsAnsweredByThePluginWithNoGateway() throws IOException {
        server.close();
        PluginRun run = call(new Env().set("CNI_COMMAND", "VERSION"), "{\"cniVersion\": \"1.0.0\"}");
        assertEquals(0, run.exitCode(), run.toString());
        assertEquals("1.0.0", run.json().path("cniVersion").asText());
        assertEquals("[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]", run.json().path("supportedVersions").toString());
    }

    @Test
    void addPrintsTheCommittedLeaseInTheRequestedVersion() {
        PluginRun run = call("ADD", "c1", config("1.0.0", "blue"));
        assertEquals(0, run.exitCode(), run.toString());
        JsonNode result = run.json();
        assertEquals("1.0.0", result.path("cniVersion").asText());
        assertEquals(1, result.path("ips").size());
        JsonNode ip = result.path("ips").get(0);
        assertTrue(ip.path("address").asText().matches("10\\.77\\.0\\.\\d+/24"), result.toString());
        assertEquals("10.77.0.1", ip.path("gateway").asText());
        assertFalse(ip.has("version"), "1.0.0 results carry no per-IP version");
        assertFalse(result.has("interfaces"), "an IPAM result has no interfaces");
        assertEquals("0.0.0.0/0", result.path("routes").get(0).path("dst").asText());
        assertEquals("10.77.0.1", result.path("routes").get(0).path("gw").asText(), "a route without a next hop names the gateway");
        assertEquals("10.200.0.0/16", result.path("routes").get(1).path("dst").asText());
        assertEquals("10.77.0.254", result.path("routes").get(1).path("gw").asText());
        assertEquals(1, backend.commits());
        assertEquals(Optional.of(true), backend.committed(new Attachment("c1", "eth0")));
        assertTrue(run.stderr().contains("leased " + ip.path("address").asText()), run.stderr());
    }

    @Test
    void resultsBefore100CarryTheIpVersion() {
        for (String version : List.of("0.3.0", "0.3.1", "0.4.0")) {
            PluginRun run = call("ADD", "c-" + version.replace('.', '-'), config(version, "blue"));
            assertEquals(0, run.exitCode(), run.toString());
            assertEquals(version, run.json().path("cniVersion").asText());
            assertEquals("4", run.json().path("ips").get(0).path("version").asText(), run.stdout());
        }
    }

    @Test
    void delFreesTheAddressAndARepeatedDelSucceeds() {
        PluginRun add = call("ADD", "c1", config("1.0.0", "blue"));
        assertEquals(0, add.exitCode(), add.toString());
        String address = add.json().path("ips").get(0).path("address").asText();
        assertEquals(1, backend.held("blue").size());

        Env del = PluginRun.command("DEL", "c1", null, "eth0", plugin.getParent().toString()); // no CNI_NETNS: allowed
        PluginRun first = call(del, config("1.0.0", "blue"));
        assertEquals(0, first.exitCode(), first.toString());
        assertEquals("", first.stdout());
        assertEquals(List.of(), backend.held("blue"), "released " + address);
        PluginRun again = call(del, config("1.0.0", "blue"));
        assertEquals(0, again.exitCode(), again.toString());
        PluginRun never = call("DEL", "never-added", config("1.0.0", "blue"));
        assertEquals(0, never.exitCode(), never.toString());
    }

    @Test
    void checkPassesForTheLeaseAndFailsWithoutOrAgainstADifferentPrevResult() {
        PluginRun add = call("ADD", "c1", config("1.0.0", "blue"));
        String withPrev = config("1.0.0", "blue").replaceFirst("}$", ", \"prevResult\": " + add.stdout().strip() + "}");
        PluginRun check = call("CHECK", "c1", withPrev);
        assertEquals(0, check.exitCode(), check.toString());
        assertEquals("", check.stdout());

        PluginRun unknown = call("CHECK", "c2", config("1.0.0", "blue"));
        assertEquals(103, unknown.errorCode(), unknown.toString());

        String otherPrev = config("1.0.0", "blue").replaceFirst("}$",
                ", \"prevResult\": {\"cniVersion\": \"1.0.0\", \"ips\": [{\"address\": \"10.77.0.250/24\"}]}}");
        PluginRun mismatch = call("CHECK", "c1", otherPrev);
        assertEquals(104, mismatch.errorCode(), mismatch.toString());

        PluginRun old = call("CHECK", "c1", config("0.3.1", "blue"));
        assertEquals(1, old.errorCode(), "CHECK came with 0.4.0: " + old);
    }

    @Test
    void staticAddressesComeFromArgsCniIpsOrRuntimeConfig() {
        String viaArgs = config("1.0.0", "blue").replaceFirst("}$", ", \"args\": {\"cni\": {\"ips\": [\"10.77.0.42/24\"]}}}");
        PluginRun first = call("ADD", "s1", viaArgs);
        assertEquals("10.77.0.42/24", first.json().path("ips").get(0).path("address").asText(), first.toString());

        String viaRuntime = config("1.0.0", "blue").replaceFirst("}$", ", \"runtimeConfig\": {\"ips\": [\"10.77.0.43\"]}}");
        PluginRun second = call("ADD", "s2", viaRuntime);
        assertEquals("10.77.0.43/24", second.json().path("ips").get(0).path("address").asText(), second.toString());

        PluginRun taken = call("ADD", "s3", viaArgs);
        assertEquals(101, taken.errorCode(), taken.toString());

        String outside = config("1.0.0", "blue").replaceFirst("}$", ", \"args\": {\"cni\": {\"ips\": [\"192.0.2.9\"]}}}");
        PluginRun refused = call("ADD", "s4", outside);
        assertEquals(7, refused.errorCode(), refused.toString());
        assertTrue(refused.json().path("details").asText().contains("192.0.2.9"), refused.toString());
    }

    @Test
    void aPodIdentityGetsItsAddressBackAfterDelAndANewContainer() {
        String args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=db;K8S_POD_NAME=pg-0;K8S_POD_UID=uid-1";
        Env add1 = PluginRun.command("ADD", "pg0-a", "/var/run/netns/a", "eth0", dir.toString()).set("CNI_ARGS", args);
        String first = call(add1, config("1.0.0", "blue")).json().path("ips").get(0).path("address").asText();
        call(PluginRun.command("DEL", "pg0-a", null, "eth0", dir.toString()).set("CNI_ARGS", args), config("1.0.0", "blue"));
        call("ADD", "other", config("1.0.0", "blue")); // moves the round-robin cursor past the freed address

        Env add2 = PluginRun.command("ADD", "pg0-b", "/var/run/netns/b", "eth0", dir.toString())
                .set("CNI_ARGS", "K8S_POD_NAMESPACE=db;K8S_POD_NAME=pg-0;K8S_POD_UID=uid-2");
        PluginRun again = call(add2, config("1.0.0", "blue"));
        assertEquals(first, again.json().path("ips").get(0).path("address").asText(), again.toString());
    }

    @Test
    void badConfigsGetTheirCniErrorCodes() {
        assertEquals(6, call("ADD", "b1", "{\"cniVersion\": ").errorCode());
        assertEquals(6, call("ADD", "b1", "[1, 2]").errorCode());

        PluginRun noPool = call("ADD", "b1", config("1.0.0", "blue").replace("\"pool\": \"blue\", ", ""));
        assertEquals(7, noPool.errorCode(), noPool.toString());
        assertTrue(noPool.json().path("details").asText().contains("ipam.pool"), noPool.toString());

        PluginRun version = call("ADD", "b1", config("9.9.9", "blue"));
        assertEquals(1, version.errorCode(), version.toString());
        assertEquals("1.1.0", version.json().path("cniVersion").asText());

        PluginRun typo = call("ADD", "b1", config("1.0.0", "blue").replace("\"pool\"", "\"pol\": \"x\", \"pool\""));
        assertEquals(2, typo.errorCode(), typo.toString());
        assertTrue(typo.json().path("details").asText().contains("ipam.pol"), typo.toString());

        PluginRun unknownPool = call("ADD", "b1", config("0.4.0", "green"));
        assertEquals(7, unknownPool.errorCode(), unknownPool.toString());
        assertEquals("0.4.0", unknownPool.json().path("cniVersion").asText());
        assertTrue(unknownPool.json().path("details").asText().contains("green"), unknownPool.toString());

        PluginRun noName = call("ADD", "b1", config("1.0.0", "blue").replace("\"name\": \"podnet\", ", ""));
        assertEquals(7, noName.errorCode(), noName.toString());
        assertEquals(1, backend.reserves(), "only the unknown pool, which only the backend can tell, reached it");
    }

    @Test
    void badEnvironmentIsCode4NamingTheVariable() {
        String config = config("1.0.0", "blue");
        PluginRun noContainer = call(PluginRun.command("ADD", "x", "/var/run/netns/x", "eth0", "/opt/cni/bin")
                .without("CNI_CONTAINERID"), config);
        assertEquals(4, noContainer.errorCode());
        assertTrue(noContainer.json().path("details").asText().contains("CNI_CONTAINERID"), noContainer.toString());

        PluginRun noNetns = call(PluginRun.command("ADD", "x", null, "eth0", "/opt/cni/bin"), config);
        assertEquals(4, noNetns.errorCode());
        assertTrue(noNetns.json().path("details").asText().contains("CNI_NETNS"), noNetns.toString());

        PluginRun badArgs = call(PluginRun.command("ADD", "x", "/n", "eth0", "/opt/cni/bin").set("CNI_ARGS", "K8S_POD_NAME"), config);
        assertEquals(4, badArgs.errorCode());
        assertTrue(badArgs.json().path("details").asText().contains("CNI_ARGS"), badArgs.toString());

        PluginRun badIfname = call(PluginRun.command("ADD", "x", "/n", "this-name-is-too-long", "/opt/cni/bin"), config);
        assertEquals(4, badIfname.errorCode());

        PluginRun relativeNetns = call(PluginRun.command("ADD", "x", "netns/x", "eth0", "/opt/cni/bin"), config);
        assertEquals(4, relativeNetns.errorCode());
        assertTrue(relativeNetns.json().path("details").asText().contains("CNI_NETNS=netns/x"), relativeNetns.toString());

        // the runtime names the sandbox twice; a caller naming two sandboxes does not speak for either
        PluginRun twoSandboxes = call(PluginRun.command("ADD", "x", "/n", "eth0", "/opt/cni/bin")
                .set("CNI_ARGS", "K8S_POD_NAMESPACE=a;K8S_POD_NAME=one;K8S_POD_INFRA_CONTAINER_ID=y"), config);
        assertEquals(4, twoSandboxes.errorCode());
        assertTrue(twoSandboxes.json().path("details").asText().contains("K8S_POD_INFRA_CONTAINER_ID=y"),
                twoSandboxes.toString());
        PluginRun oneSandbox = call(PluginRun.command("ADD", "x", "/n", "eth0", "/opt/cni/bin")
                .set("CNI_ARGS", "K8S_POD_NAMESPACE=a;K8S_POD_NAME=one;K8S_POD_INFRA_CONTAINER_ID=x"), config);
        assertEquals(0, oneSandbox.exitCode(), oneSandbox.toString());
        assertEquals(1, backend.reserves());

        PluginRun noCommand = call(new Env(), config);
        assertEquals(4, noCommand.errorCode());
        assertTrue(noCommand.json().path("details").asText().contains("CNI_COMMAND"), noCommand.toString());
        assertEquals(1, backend.reserves(), "only the consistent call reached the backend");
    }

    @Test
    void anUnreachableGatewayIsTryAgainLaterNamingTheSocket() throws IOException {
        server.close();
        assertFalse(Files.exists(socket), "close removes the socket file");
        PluginRun add = call("ADD", "c1", config("1.0.0", "blue"));
        assertEquals(11, add.errorCode(), add.toString());
        assertTrue(add.json().path("details").asText().contains(socket.toString()), add.toString());
        assertTrue(add.stderr().contains(socket.toString()), add.stderr());

        PluginRun status = call(new Env().set("CNI_COMMAND", "STATUS").set("CNI_PATH", "/opt/cni/bin"), config("1.1.0", "blue"));
        assertEquals(50, status.errorCode(), status.toString());
    }

    @Test
    void statusAndGcAnswerFor110() {
        PluginRun status = call(new Env().set("CNI_COMMAND", "STATUS").set("CNI_PATH", "/opt/cni/bin"), config("1.1.0", "blue"));
        assertEquals(0, status.exitCode(), status.toString());
        PluginRun gc = call(new Env().set("CNI_COMMAND", "GC").set("CNI_PATH", "/opt/cni/bin"),
                config("1.1.0", "blue").replaceFirst("}$", ", \"cni.dev/valid-attachments\": []}"));
        assertEquals(0, gc.exitCode(), gc.toString());
        PluginRun oldStatus = call(new Env().set("CNI_COMMAND", "STATUS"), config("1.0.0", "blue"));
        assertEquals(1, oldStatus.errorCode(), oldStatus.toString());
    }

    @Test
    void anExhaustedPoolIsCode100AndAFailingBackendIsCode11() {
        assertEquals(0, call("ADD", "t1", config("1.0.0", "tiny")).exitCode()); // a /30 with a gateway has one address
        PluginRun full = call("ADD", "t2", config("1.0.0", "tiny"));
        assertEquals(100, full.errorCode(), full.toString());

        backend.failWith(new IllegalStateException("shard region not started"));
        PluginRun down = call("ADD", "t3", config("1.0.0", "blue"));
        assertEquals(11, down.errorCode(), down.toString());
        assertTrue(down.json().path("details").asText().contains("shard region not started"), down.toString());
        PluginRun delDown = call("DEL", "t1", config("1.0.0", "tiny"));
        assertEquals(11, delDown.errorCode(), "a DEL that could not release must be retried: " + delDown);
    }

    @Test
    void aBackendThatDoesNotAnswerIsTryAgainLaterAfterTheTimeout() throws IOException {
        Path slowSocket = dir.resolve("slow.sock");
        try (CniServer slow = CniServer.start(slowSocket, backend, Duration.ofMillis(300))) {
            backend.stall();
            PluginRun add = call("ADD", "slow", config("1.0.0", "blue").replace(socket.toString(), slow.socket().toString()));
            assertEquals(11, add.errorCode(), add.toString());
            assertTrue(add.json().path("details").asText().contains("no answer within 300 ms"), add.toString());
        }
    }

    @Test
    void delOfAnotherPodsLeaseIsRefusedAndDelInAPoolThatIsGoneSucceeds() {
        Env add = PluginRun.command("ADD", "shared", "/var/run/netns/s", "eth0", "/opt/cni/bin")
                .set("CNI_ARGS", "K8S_POD_NAMESPACE=a;K8S_POD_NAME=one");
        assertEquals(0, call(add, config("1.0.0", "blue")).exitCode());
        Env otherDel = PluginRun.command("DEL", "shared", null, "eth0", "/opt/cni/bin")
                .set("CNI_ARGS", "K8S_POD_NAMESPACE=b;K8S_POD_NAME=two");
        PluginRun refused = call(otherDel, config("1.0.0", "blue"));
        assertEquals(102, refused.errorCode(), refused.toString());
        assertEquals(1, backend.held("blue").size(), "the lease is still there");

        PluginRun gone = call("DEL", "shared", config("1.0.0", "deleted-pool"));
        assertEquals(0, gone.exitCode(), "a pool that is gone holds nothing to free: " + gone);
    }

    @Test
    void aReservationNobodyCommitsIsNeverLeasedAndExpires() throws IOException {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            CniWire.writeRequest(Channels.newOutputStream(channel), new CniWire.Request(CniWire.Op.ADD, "dies", "/n", "eth0",
                    "", "", config("1.0.0", "blue").getBytes(StandardCharsets.UTF_8)));
            CniWire.Reply reply = CniWire.readReply(Channels.newInputStream(channel));
            assertEquals(CniWire.Reply.Kind.RESERVED, reply.kind(), reply.log());
        } // the "plugin" dies here, before its commit
        assertEquals(0, backend.commits());
        assertEquals(Optional.of(false), backend.committed(new Attachment("dies", "eth0")));
        clock.advance(RESERVATION_TTL.plusSeconds(1));
        assertEquals(Optional.empty(), backend.committed(new Attachment("dies", "eth0")));
        assertEquals(List.of(), backend.held("blue"));
    }

    @Test
    void anOversizedOrGarbledFrameIsAnIoError() throws IOException {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            DataOutputStream out = new DataOutputStream(Channels.newOutputStream(channel));
            out.writeInt(CniWire.MAX_FRAME + 1);
            out.flush();
            CniWire.Reply reply = CniWire.readReply(Channels.newInputStream(channel));
            assertEquals(5, reply.exitCode(), reply.log());
        }
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            DataOutputStream out = new DataOutputStream(Channels.newOutputStream(channel));
            out.writeInt(3);
            out.write(new byte[] {1, 1, 0});
            out.flush();
            CniWire.Reply reply = CniWire.readReply(Channels.newInputStream(channel));
            assertEquals(5, reply.exitCode(), reply.log());
        }
    }

    @Test
    void theServerReplacesAStaleSocketAndRefusesALiveOne() throws IOException {
        IOException live = assertThrows(IOException.class, () -> CniServer.start(socket, backend));
        assertTrue(live.getMessage().contains("already serves"), live.getMessage());

        Path stale = dir.resolve("stale.sock");
        try (var channel = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            channel.bind(UnixDomainSocketAddress.of(stale)); // closing leaves the file behind, as a crash does
        }
        assertTrue(Files.exists(stale));
        try (CniServer replacement = CniServer.start(stale, backend)) {
            PluginRun add = call("ADD", "c9", config("1.0.0", "blue").replace(socket.toString(), replacement.socket().toString()));
            assertEquals(0, add.exitCode(), add.toString());
        }

        Path regular = Files.writeString(dir.resolve("not-a-socket"), "x");
        IOException refused = assertThrows(IOException.class, () -> CniServer.start(regular, backend));
        assertTrue(refused.getMessage().contains("not a socket"), refused.getMessage());
    }

    private static InetAddress ip(String text) {
        return io.isthmus.api.IpLiteral.parse("test", text);
    }
}
