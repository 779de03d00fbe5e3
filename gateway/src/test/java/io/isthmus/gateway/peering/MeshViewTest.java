package io.isthmus.gateway.peering;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterBackends;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ImportedService;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.exports.ExportSet;
import io.isthmus.testing.SettableClock;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.internal.pubsub.TopicImpl;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MeshViewTest {
    private static final ClusterId SELF = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ClusterId NORTH = ClusterId.of("north");
    private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");
    private static final Duration IMPORT_TTL = Duration.ofSeconds(30);
    private static final ServiceKey CART = new ServiceKey("shop", "cart");
    private static final ServiceKey DB = new ServiceKey("shop", "db");

    private static ActorTestKit testKit;

    private final SettableClock clock = new SettableClock(T0);
    private final LinkedBlockingQueue<MeshView.Snapshot> snapshots = new LinkedBlockingQueue<>();
    private TestProbe<Topic.Command<ExportSet>> topic;
    private ExportFeed feed;
    private ActorRef<MeshView.Command> mesh;

    @BeforeAll
    static void startSystem() {
        testKit = ActorTestKit.create(ConfigFactory.parseString("pekko.actor.provider = local"));
    }

    @AfterAll
    static void stopSystem() {
        testKit.shutdownTestKit();
    }

    @BeforeEach
    void startMeshView() {
        topic = testKit.createTestProbe();
        feed = new ExportFeed(testKit.system());
        mesh = testKit.spawn(MeshView.create(SELF, topic.ref(), snapshots::add, feed, clock, IMPORT_TTL, Duration.ZERO));
    }

    private MeshView.Snapshot nextSnapshot() {
        try {
            MeshView.Snapshot snapshot = snapshots.poll(3, TimeUnit.SECONDS);
            assertNotNull(snapshot, "no snapshot within 3 s");
            return snapshot;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** Skips the initial snapshot. */
    private MeshView.Snapshot initial() {
        return nextSnapshot();
    }

    /**
     * Whether a command changed nothing shows only as the absence of a snapshot: send a harmless link change
     * after it, and return the snapshot that one makes (so the state it carries is the state after the command).
     */
    private MeshView.Snapshot afterNothingChanged() {
        mesh.tell(new MeshView.LinkChanged("marker", MeshView.Direction.OUTBOUND, "10.9.9.9:7071", null,
                LinkState.CONNECTING, "marker"));
        MeshView.Snapshot next = nextSnapshot();
        assertEquals("marker", next.links().get("marker").detail(), "a snapshot came before the marker's: " + next);
        return next;
    }

    private static ServiceExport export(ServiceKey key, ServiceType type, List<String> ips, Instant at, String... ports) {
        return ServiceExport.of(key, type, Arrays.stream(ports).map(ServicePort::parse).toList(),
                ips.stream().map(ip -> IpLiteral.parse("ip", ip)).toList(), at);
    }

    private static ServiceExport cart(String ip, Instant at) {
        return export(CART, ServiceType.CLUSTER_SET_IP, List.of(ip), at, "http:80/TCP");
    }

    private MeshView.Snapshot linkUp(String linkId, MeshView.Direction direction, ClusterId remote) {
        mesh.tell(new MeshView.LinkChanged(linkId, direction, "10.1.0.5:7071", remote, LinkState.UP, "hello received"));
        return nextSnapshot();
    }

    @Test
    void startsEmptyAndSubscribesToTheExportsTopic() {
        MeshView.Snapshot first = initial();
        assertEquals(SELF, first.self());
        assertEquals(ExportSet.EMPTY, first.own());
        assertTrue(first.imports().isEmpty());
        assertTrue(first.links().isEmpty());
        assertEquals(0, first.directory().version());
        assertTrue(first.directory().services().isEmpty());
        assertInstanceOf(TopicImpl.Subscribe.class, topic.receiveMessage(Duration.ofSeconds(3)));
    }

    @Test
    void takesOwnExportsPublishedOnTheTopic() {
        initial();
        @SuppressWarnings("unchecked")
        TopicImpl.Subscribe<ExportSet> subscribe = (TopicImpl.Subscribe<ExportSet>) topic.receiveMessage(Duration.ofSeconds(3));
        ExportSet own = new ExportSet(10, List.of(cart("10.96.0.10", T0)));
        subscribe.subscriber().tell(own);
        MeshView.Snapshot next = nextSnapshot();
        assertEquals(own, next.own());
        assertTrue(next.directory().find(CART).isPresent());
    }

    @Test
    void importsReceivedBuildsADirectoryWithTheImportedService() {
        initial();
        ServiceExport cart = cart("10.97.0.10", T0);
        mesh.tell(new MeshView.ImportsReceived("link-1", WEST, 5, List.of(cart)));
        MeshView.Snapshot next = nextSnapshot();
        assertEquals(new MeshView.RemoteExports(5, List.of(cart), T0, "link-1", null, false), next.imports().get(WEST));
        assertEquals(1, next.directory().version());
        ImportedService imported = next.directory().find(CART).orElseThrow();
        assertEquals(ServiceType.CLUSTER_SET_IP, imported.type());
        assertEquals(List.of(ClusterBackends.ofIps(WEST, cart.ips())), imported.clusters());
        assertEquals(cart.ports(), imported.ports());
    }

    @Test
    void sameOrOlderVersionFromASecondLinkIsIgnored() {
        initial();
        linkUp("up-1", MeshView.Direction.OUTBOUND, WEST); // west reachable; link-1/2 unknown, so nothing is touched
        ServiceExport cart = cart("10.97.0.10", T0);
        mesh.tell(new MeshView.ImportsReceived("link-1", WEST, 5, List.of(cart)));
        MeshView.Snapshot imported = nextSnapshot();
        mesh.tell(new MeshView.ImportsReceived("link-2", WEST, 5, List.of(cart("10.97.0.99", T0))));
        mesh.tell(new MeshView.ImportsReceived("link-2", WEST, 4, List.of()));
        MeshView.Snapshot after = afterNothingChanged();
        assertEquals(imported.imports(), after.imports());
        assertEquals(imported.directory(), after.directory());
    }

    @Test
    void sameVersionOverAKnownLinkOnlyTouchesTheLink() {
        initial();
        linkUp("link-1", MeshView.Direction.OUTBOUND, WEST);
        mesh.tell(new MeshView.ImportsReceived("link-1", WEST, 5, List.of(cart("10.97.0.10", T0))));
        MeshView.Snapshot imported = nextSnapshot();
        clock.set(T0.plusSeconds(3));
        mesh.tell(new MeshView.ImportsReceived("link-1", WEST, 5, List.of()));
        MeshView.Snapshot touched = nextSnapshot();
        assertEquals(imported.imports(), touched.imports());
        assertEquals(imported.directory(), touched.directory());
        assertEquals(T0.plusSeconds(3), touched.links().get("link-1").lastMessageAt());
    }

    @Test
    void newerVersionReplacesTheImports() {
        initial();
        mesh.tell(new MeshView.ImportsReceived("link-1", WEST, 5, List.of(cart("10.97.0.10", T0))));
        MeshView.Snapshot first = nextSnapshot();
        ServiceExport db = export(DB, ServiceType.HEADLESS, List.of("10.1.0.5"), T0, "pg:5432/TCP");
        clock.set(T0.plusSeconds(1));
        mesh.tell(new MeshView.ImportsReceived("link-2", WEST, 6, List.of(db)));
        MeshView.Snapshot next = nextSnapshot();
        assertEquals(new MeshView.RemoteExports(6, List.of(db), T0.plusSeconds(1), "link-2", null, false), next.imports().get(WEST));
        assertTrue(next.directory().find(CART).isEmpty());
        assertEquals(List.of(IpLiteral.parse("ip", "10.1.0.5")), next.directory().find(DB).orElseThrow().addresses());
        assertEquals(first.directory().version() + 1, next.directory().version());
    }

    @Test
    void keepsTheImportsOfEachClusterApart() {
        initial();
        mesh.tell(new MeshView.ImportsReceived("link-1", WEST, 5, List.of(cart("10.97.0.10", T0))));
        nextSnapshot();
        mesh.tell(new MeshView.ImportsReceived("link-2", NORTH, 1, List.of(cart("10.98.0.10", T0.plusSeconds(1)))));
        MeshView.Snapshot next = nextSnapshot();
        assertEquals(2, next.imports().size());
        assertEquals(List.of(NORTH, WEST),
                next.directory().find(CART).orElseThrow().clusters().stream().map(ClusterBackends::cluster).toList());
    }

    @Test
    void ownExportsAreMergedIntoTheDirectoryAndGoToTheFeed() {
        initial();
        mesh.tell(new MeshView.ImportsReceived("link-1", WEST, 5, List.of(cart("10.97.0.10", T0.plusSeconds(1)))));
        nextSnapshot();
        ServiceExport ownCart = cart("10.96.0.10", T0);
        ExportSet own = new ExportSet(T0.toEpochMilli(), List.of(ownCart));
        mesh.tell(new MeshView.OwnExportsChanged(own));
        MeshView.Snapshot next = nextSnapshot();
        assertSame(own, next.own());
        assertEquals(own, feed.current());
        ImportedService imported = next.directory().find(CART).orElseThrow();
        assertEquals(List.of(SELF, WEST), imported.clusters().stream().map(ClusterBackends::cluster).toList());
        assertEquals(List.of(IpLiteral.parse("ip", "10.96.0.10"), IpLiteral.parse("ip", "10.97.0.10")),
                imported.addresses());
        assertEquals(2, next.directory().version());
        assertEquals(5, next.imports().get(WEST).version());
    }

    @Test
    void olderOrEqualOwnExportsAreIgnored() {
        initial();
        ExportSet v10 = new ExportSet(10, List.of(cart("10.96.0.10", T0)));
        mesh.tell(new MeshView.OwnExportsChanged(v10));
        MeshView.Snapshot first = nextSnapshot();
        mesh.tell(new MeshView.OwnExportsChanged(new ExportSet(9, List.of())));
        mesh.tell(new MeshView.OwnExportsChanged(new ExportSet(10, List.of())));
        MeshView.Snapshot after = afterNothingChanged();
        assertEquals(v10, after.own());
        assertEquals(first.directory(), after.directory());
        assertEquals(v10, feed.current());
    }

    @Test
    void unexportedOwnServiceLeavesTheDirectory() {
        initial();
        mesh.tell(new MeshView.OwnExportsChanged(new ExportSet(10, List.of(cart("10.96.0.10", T0)))));
        assertTrue(nextSnapshot().directory().find(CART).isPresent());
        mesh.tell(new MeshView.OwnExportsChanged(new ExportSet(11, List.of())));
        assertTrue(nextSnapshot().directory().find(CART).isEmpty());
    }

    @Test
    void outboundLinkIsKeptWhenItGoesDownAndUpAgain() {
        initial();
        MeshView.Snapshot up = linkUp("out-1", MeshView.Direction.OUTBOUND, WEST);
        assertEquals(new MeshView.Link("out-1", MeshView.Direction.OUTBOUND, "10.1.0.5:7071", WEST, LinkState.UP, T0, T0,
                "hello received", null, 0, 0), up.links().get("out-1"));

        clock.set(T0.plusSeconds(5));
        mesh.tell(new MeshView.LinkChanged("out-1", MeshView.Direction.OUTBOUND, "10.1.0.5:7071", null, LinkState.DOWN,
                "connection refused"));
        MeshView.Snapshot down = nextSnapshot();
        assertEquals(new MeshView.Link("out-1", MeshView.Direction.OUTBOUND, "10.1.0.5:7071", WEST, LinkState.DOWN,
                T0.plusSeconds(5), T0, "connection refused", null, 0, 0), down.links().get("out-1"));

        clock.set(T0.plusSeconds(6));
        mesh.tell(new MeshView.LinkChanged("out-1", MeshView.Direction.OUTBOUND, "10.1.0.5:7071", null,
                LinkState.DOWN, "still refused"));
        assertEquals(T0.plusSeconds(5), nextSnapshot().links().get("out-1").since());

        clock.set(T0.plusSeconds(9));
        MeshView.Snapshot again = linkUp("out-1", MeshView.Direction.OUTBOUND, WEST);
        assertEquals(1, again.links().size());
        assertEquals(LinkState.UP, again.links().get("out-1").state());
        assertEquals(T0.plusSeconds(9), again.links().get("out-1").since());
    }

    @Test
    void linkWithoutHelloHasNoRemoteOrLastMessage() {
        initial();
        mesh.tell(new MeshView.LinkChanged("out-1", MeshView.Direction.OUTBOUND, "10.1.0.5:7071", null,
                LinkState.CONNECTING, "dialling"));
        MeshView.Link link = nextSnapshot().links().get("out-1");
        assertNull(link.remote());
        assertNull(link.lastMessageAt());
        assertEquals(LinkState.CONNECTING, link.state());
    }

    @Test
    void inboundLinkIsRemovedWhenItGoesDown() {
        initial();
        linkUp("in-1", MeshView.Direction.INBOUND, WEST);
        MeshView.Snapshot both = linkUp("out-1", MeshView.Direction.OUTBOUND, NORTH);
        assertEquals(2, both.links().size());
        mesh.tell(new MeshView.LinkChanged("in-1", MeshView.Direction.INBOUND, "10.1.0.5:40000", WEST, LinkState.DOWN,
                "stream ended"));
        MeshView.Snapshot after = nextSnapshot();
        assertEquals(List.of("out-1"), List.copyOf(after.links().keySet()));
    }

    @Test
    void importsOutliveTheLinkTheyCameOver() {
        initial();
        linkUp("in-1", MeshView.Direction.INBOUND, WEST);
        mesh.tell(new MeshView.ImportsReceived("in-1", WEST, 5, List.of(cart("10.97.0.10", T0))));
        MeshView.Snapshot imported = nextSnapshot();
        mesh.tell(new MeshView.LinkChanged("in-1", MeshView.Direction.INBOUND, "10.1.0.5:40000", WEST, LinkState.DOWN,
                "stream ended"));
        MeshView.Snapshot after = nextSnapshot();
        assertTrue(after.links().isEmpty());
        assertEquals(T0, after.imports().get(WEST).unreachableSince());
        assertFalse(after.imports().get(WEST).withdrawn());
        assertEquals(imported.directory(), after.directory());
    }

    @Test
    void importsOfAClusterDownPastTheTtlAreWithdrawnAndComeBackOnReconnect() {
        initial();
        linkUp("out-1", MeshView.Direction.OUTBOUND, WEST);
        mesh.tell(new MeshView.ImportsReceived("out-1", WEST, 5, List.of(cart("10.97.0.10", T0))));
        assertTrue(nextSnapshot().directory().find(CART).isPresent());
        mesh.tell(new MeshView.LinkChanged("out-1", MeshView.Direction.OUTBOUND, "10.1.0.5:7071", WEST, LinkState.DOWN,
                "stream ended"));
        assertTrue(nextSnapshot().directory().find(CART).isPresent(), "still served within the TTL");

        clock.set(T0.plus(IMPORT_TTL).plusSeconds(1));
        MeshView.Snapshot withdrawn = nextSnapshot(); // the once-a-second check
        assertTrue(withdrawn.imports().get(WEST).withdrawn());
        assertTrue(withdrawn.directory().find(CART).isEmpty(), withdrawn.directory().toString());

        MeshView.Snapshot back = linkUp("out-1", MeshView.Direction.OUTBOUND, WEST);
        assertFalse(back.imports().get(WEST).withdrawn());
        assertEquals("10.97.0.10", back.directory().find(CART).orElseThrow().addresses().getFirst().getHostAddress());
    }

    @Test
    void aClusterWithOneOfTwoLinksUpStaysServed() {
        initial();
        linkUp("out-1", MeshView.Direction.OUTBOUND, WEST);
        linkUp("in-1", MeshView.Direction.INBOUND, WEST);
        mesh.tell(new MeshView.ImportsReceived("out-1", WEST, 5, List.of(cart("10.97.0.10", T0))));
        nextSnapshot();
        mesh.tell(new MeshView.LinkChanged("out-1", MeshView.Direction.OUTBOUND, "10.1.0.5:7071", WEST, LinkState.DOWN,
                "stream ended"));
        MeshView.Snapshot after = nextSnapshot();
        assertNull(after.imports().get(WEST).unreachableSince());
        clock.set(T0.plus(IMPORT_TTL).plusSeconds(5));
        MeshView.Snapshot later = afterNothingChanged();
        assertFalse(later.imports().get(WEST).withdrawn());
        assertTrue(later.directory().find(CART).isPresent());
    }

    @Test
    void heartbeatUpdatesTheLastMessageTimeOfItsLink() {
        initial();
        linkUp("out-1", MeshView.Direction.OUTBOUND, WEST);
        clock.set(T0.plusSeconds(2));
        mesh.tell(new MeshView.HeartbeatReceived("out-1", Duration.ofMillis(3), 7, 9));
        MeshView.Link link = nextSnapshot().links().get("out-1");
        assertEquals(T0.plusSeconds(2), link.lastMessageAt());
        assertEquals(T0, link.since());
        assertEquals(Duration.ofMillis(3), link.rtt());
        assertEquals(7, link.ackedVersion());
        mesh.tell(new MeshView.HeartbeatReceived("out-1", null, 5, 9));
        MeshView.Link later = nextSnapshot().links().get("out-1");
        assertEquals(Duration.ofMillis(3), later.rtt(), "a heartbeat without an echo keeps the last RTT");
        assertEquals(7, later.ackedVersion(), "acks never go back");
    }

    @Test
    void aHeartbeatsSkewEstimateIsTheLinksUntilANewerOneAndAReconnectForgetsIt() {
        initial();
        linkUp("out-1", MeshView.Direction.OUTBOUND, WEST);
        ClockSkew.Estimate ahead = new ClockSkew.Estimate(Duration.ofMillis(1_500), Duration.ofMillis(2));
        mesh.tell(new MeshView.HeartbeatReceived("out-1", Duration.ofMillis(4), 1, 1, ahead));
        assertEquals(ahead, nextSnapshot().links().get("out-1").clockSkew());
        mesh.tell(new MeshView.HeartbeatReceived("out-1", Duration.ofMillis(4), 1, 1, null));
        assertEquals(ahead, nextSnapshot().links().get("out-1").clockSkew(), "a heartbeat without one keeps it");
        mesh.tell(new MeshView.LinkChanged("out-1", MeshView.Direction.OUTBOUND, "10.1.0.5:7071", WEST, LinkState.DOWN,
                "stream ended"));
        assertEquals(ahead, nextSnapshot().links().get("out-1").clockSkew(), "a link down still shows its last one");
        assertNull(linkUp("out-1", MeshView.Direction.OUTBOUND, WEST).links().get("out-1").clockSkew(),
                "a new stream starts without an estimate");
    }

    @Test
    void heartbeatOfAnUnknownLinkChangesNothing() {
        MeshView.Snapshot first = initial();
        mesh.tell(new MeshView.HeartbeatReceived("nobody", Duration.ofMillis(1), 1, 1));
        MeshView.Snapshot after = afterNothingChanged();
        assertEquals(first.imports(), after.imports());
        assertEquals(1, after.links().size());
    }

    @Test
    void aDeltaFromTheHeldVersionIsAppliedARepeatIgnoredAndAGapAsksForAFullSnapshot() {
        initial();
        linkUp("up-1", MeshView.Direction.OUTBOUND, WEST);
        ServiceExport cart = cart("10.97.0.10", T0);
        mesh.tell(new MeshView.ImportsReceived("up-1", WEST, 5, List.of(cart)));
        nextSnapshot();
        java.util.concurrent.atomic.AtomicInteger resyncs = new java.util.concurrent.atomic.AtomicInteger();
        ServiceExport db = export(DB, ServiceType.HEADLESS, List.of("10.1.0.5"), T0, "5432/TCP");
        java.util.concurrent.atomic.AtomicInteger appliedCalls = new java.util.concurrent.atomic.AtomicInteger();
        mesh.tell(new MeshView.DeltaReceived("up-1", WEST, 5, 7, List.of(db), List.of(CART), resyncs::incrementAndGet,
                appliedCalls::incrementAndGet));
        MeshView.Snapshot applied = nextSnapshot();
        assertEquals(1, appliedCalls.get(), "the link hears that its delta was applied (it times the propagation)");
        assertEquals(7, applied.imports().get(WEST).version());
        assertTrue(applied.directory().find(CART).isEmpty());
        assertTrue(applied.directory().find(DB).isPresent());

        mesh.tell(new MeshView.DeltaReceived("other", WEST, 5, 7, List.of(db), List.of(CART), resyncs::incrementAndGet,
                appliedCalls::incrementAndGet));
        mesh.tell(new MeshView.DeltaReceived("other", WEST, 9, 11, List.of(cart), List.of(), resyncs::incrementAndGet,
                appliedCalls::incrementAndGet));
        MeshView.Snapshot after = afterNothingChanged();
        assertEquals(1, appliedCalls.get(), "a repeat and a gap are not applied, so not timed");
        assertEquals(7, after.imports().get(WEST).version(), "a repeat and a gap change nothing");
        assertEquals(1, resyncs.get(), "only the gap asks for a full snapshot");
    }

    @Test
    void aBurstOfChangesIsRebuiltIntoTheDirectoryOnceWhenDebounced() {
        ActorRef<MeshView.Command> debounced = testKit.spawn(MeshView.create(SELF, topic.ref(), snapshots::add, feed,
                clock, IMPORT_TTL, Duration.ofMillis(200)));
        initial(); // this test's own mesh view from @BeforeEach
        initial(); // the debounced one
        for (int version = 1; version <= 50; version++) {
            debounced.tell(new MeshView.ImportsReceived("burst", WEST, version,
                    List.of(cart("10.97.0." + version, T0))));
        }
        MeshView.Snapshot last = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < deadline) {
            MeshView.Snapshot next;
            try {
                next = snapshots.poll(300, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            if (next == null) {
                break;
            }
            last = next;
        }
        assertNotNull(last);
        assertEquals(50, last.imports().get(WEST).version());
        assertEquals("10.97.0.50", last.directory().find(CART).orElseThrow().addresses().getFirst().getHostAddress());
        assertTrue(last.directory().version() <= 3, "rebuilt " + last.directory().version() + " times for 50 changes");
    }
}
