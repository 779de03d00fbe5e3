package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.policy.CrossClusterDefault;
import io.isthmus.policy.DecisionTable;
import io.isthmus.policy.IdentityView;
import io.isthmus.policy.PolicyCodec;
import io.isthmus.testing.Echo;
import io.isthmus.testing.TwoClusterTopology;
import io.isthmus.testing.TwoClusterTopology.Network;
import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The filter in the real data path: pod A (east, namespace shop) opens TCP connections to pod B (west, namespace db)
 * through two tunnel engines, each with its own {@link PolicyPacketFilter}. A denied connection gets no reply (no
 * RST: the SYN is dropped), is counted as a policy drop at the gateway that denied it and on the rule, and a new
 * table flips the flow without touching the session. Needs root: network namespaces made by the test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PolicyPacketFilterNamespaceTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final IdentityView VIEW = IdentityView.builder()
            .workload(Packets.address("10.1.0.2"), EAST, "shop", Map.of("app", "cart"))
            .workload(Packets.address("10.2.0.2"), WEST, "db", Map.of("app", "pg"))
            .build();
    private static final String POLICY = """
            apiVersion: isthmus.io/v1alpha1
            kind: GlobalNetworkPolicy
            metadata: {name: db-in}
            spec:
              appliesTo: {namespaces: [db]}
              ingress:
                - action: Allow
                  peers: [{namespaces: [shop]}]
                  ports: [{protocol: TCP, port: %s}]
                - action: Deny
            """;

    private TwoClusterTopology topology;
    private NamespacePair tunnel;
    private NetNamespace podA;
    private ServerSocket allowedEcho;
    private ServerSocket deniedEcho;
    private PolicyPacketFilter east;
    private PolicyPacketFilter west;

    @BeforeAll
    void start() throws Exception {
        topology = TwoClusterTopology.create("itp", Network.of("10.1.0"), Network.of("192.168.74"),
                Network.of("10.2.0"));
        try {
            podA = NetNamespace.named(topology.podA());
            NetNamespace podB = NetNamespace.named(topology.podB());
            tunnel = NamespacePair.start(
                    new NamespacePair.Side(EAST, NetNamespace.named(topology.gatewayA()),
                            Packets.address("192.168.74.1"), List.of(Cidr.parse("r", "10.1.0.0/16"))),
                    new NamespacePair.Side(WEST, NetNamespace.named(topology.gatewayB()),
                            Packets.address("192.168.74.2"), List.of(Cidr.parse("r", "10.2.0.0/16"))),
                    1, true, Suite.AES_256_GCM, RekeyPolicy.defaults());
            allowedEcho = podB.call(() -> new ServerSocket(7007, 5, Packets.address("10.2.0.2")));
            deniedEcho = podB.call(() -> new ServerSocket(7008, 5, Packets.address("10.2.0.2")));
            Echo.serveTcp(allowedEcho);
            Echo.serveTcp(deniedEcho);
            east = new PolicyPacketFilter(DecisionTable.compile(List.of(), CrossClusterDefault.ALLOW, VIEW));
            west = new PolicyPacketFilter(table("7007"));
            tunnel.engineA().usePolicy(east);
            tunnel.engineB().usePolicy(west);
        } catch (Exception | Error e) {
            stop();
            throw e;
        }
    }

    @AfterAll
    void stop() {
        for (AutoCloseable closeable : new AutoCloseable[] {allowedEcho, deniedEcho, tunnel, topology}) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            } catch (Exception e) {
                System.err.println("closing " + closeable + ": " + e);
            }
        }
    }

    /**
     * Under a deny default only shop -> db TCP 7007 is allowed (a rule on each side); pg's answers pass both gateways
     * because each tracked the connection as the SYN went through (east outbound, west inbound).
     */
    @Test
    void underADenyDefaultAnAllowedConnectionIsAnsweredThroughBothGatewaysAndTheOtherWayStaysShut() throws Exception {
        DecisionTable onlyShopToDb = DecisionTable.compile(PolicyCodec.read(POLICY.formatted("7007") + """
                ---
                metadata: {name: shop-out}
                spec:
                  appliesTo: {namespaces: [shop]}
                  egress: [{action: Allow, peers: [{namespaces: [db]}], ports: [{protocol: TCP, port: 7007}]}]
                """), CrossClusterDefault.DENY, VIEW);
        east.use(onlyShopToDb);
        west.use(onlyShopToDb);
        long eastReplies = east.replies();
        long westReplies = west.replies();
        assertArrayEquals("through".getBytes(), echo(7007));
        assertTrue(east.replies() > eastReplies, "east let pg's answers in as replies: " + east.counters());
        assertTrue(west.replies() > westReplies, "west let pg's answers out as replies: " + west.counters());
        assertTrue(east.tracked() >= 1 && west.tracked() >= 1, east.counters() + " / " + west.counters());
        // db's pod cannot open a connection to shop's: its SYN answers nothing
        try (ServerSocket shop = podA.call(() -> new ServerSocket(7010, 5, Packets.address("10.1.0.2")))) {
            Echo.serveTcp(shop);
            assertThrows(SocketTimeoutException.class, () -> NetNamespace.named(topology.podB()).call(() -> {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(Packets.address("10.1.0.2"), 7010), 1500);
                    return null;
                }
            }));
        }
    }

    private static DecisionTable table(String port) {
        return DecisionTable.compile(PolicyCodec.read(POLICY.formatted(port)), CrossClusterDefault.ALLOW, VIEW);
    }

    private byte[] echo(int port) throws Exception {
        return podA.call(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(Packets.address("10.2.0.2"), port), 1500);
                socket.setSoTimeout(5000);
                socket.getOutputStream().write("through".getBytes());
                socket.shutdownOutput();
                byte[] back = new byte[7];
                new DataInputStream(socket.getInputStream()).readFully(back);
                return back;
            }
        });
    }

    private long policyDrops(TunnelEngine engine, ClusterId peer) {
        return engine.stats().peer(peer).orElseThrow().drops(DropReason.POLICY_DENIED);
    }

    @Test
    void deniedFlowsGetNoReplyAreCountedWhereDeniedAndANewTableFlipsThemWithoutANewSession() throws Exception {
        east.use(DecisionTable.compile(List.of(), CrossClusterDefault.ALLOW, VIEW));
        west.use(table("7007"));
        assertArrayEquals("through".getBytes(), echo(7007));
        Session session = tunnel.engineA().currentSession(WEST);

        // west's table denies 7008: east seals the SYN, west drops it after the open; no RST comes back
        assertThrows(SocketTimeoutException.class, () -> echo(7008));
        assertTrue(policyDrops(tunnel.engineB(), EAST) >= 1, tunnel.engineB().stats().toString());
        assertEquals(0, policyDrops(tunnel.engineA(), WEST));
        assertTrue(west.table().counters().packets(1) >= 1, "counted on db-in spec.ingress[1]");
        assertTrue(west.table().counters().packets(0) >= 1, "the allowed flow on db-in spec.ingress[0]");

        // east enforces the same table: the SYN is refused before the seal
        east.use(table("7007"));
        long westDrops = policyDrops(tunnel.engineB(), EAST);
        assertThrows(SocketTimeoutException.class, () -> echo(7008));
        assertTrue(policyDrops(tunnel.engineA(), WEST) >= 1, tunnel.engineA().stats().toString());
        assertEquals(westDrops, policyDrops(tunnel.engineB(), EAST), "nothing denied reached west");

        // a new version allows 7008 and no longer 7007, on the same session
        east.use(table("7008"));
        west.use(table("7008"));
        assertArrayEquals("through".getBytes(), echo(7008));
        assertThrows(SocketTimeoutException.class, () -> echo(7007));
        assertSame(session, tunnel.engineA().currentSession(WEST), "no rekey, no new session");
        assertTrue(east.describe().matches("policy 1:[0-9a-f]{12} \\(2 rules, default allow\\)"), east.describe());
    }
}
