package io.isthmus.gateway.peering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterId;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.exports.ExportSet;
import io.isthmus.testing.SettableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.internal.pubsub.TopicImpl;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The mesh view updates its directory change by change (own export sets, deltas and snapshots from peers); after
 * every change the directory is the one a full merge of everything served makes.
 */
class MeshViewDirectoryTest {
    private static final ClusterId SELF = ClusterId.of("east");
    private static final List<ClusterId> PEERS = List.of(ClusterId.of("west"), ClusterId.of("north"));
    private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");
    private static ActorTestKit testKit;

    @BeforeAll
    static void startSystem() {
        testKit = ActorTestKit.create(ConfigFactory.parseString("pekko.actor.provider = local"));
    }

    @AfterAll
    static void stopSystem() {
        testKit.shutdownTestKit();
    }

    @Test
    void aDirectoryUpdatedChangeByChangeIsTheFullMergeOfWhatIsServed() throws InterruptedException {
        for (long seed = 1; seed <= 3; seed++) {
            Random random = new Random(seed);
            LinkedBlockingQueue<MeshView.Snapshot> snapshots = new LinkedBlockingQueue<>();
            TestProbe<Topic.Command<ExportSet>> topic = testKit.createTestProbe();
            ActorRef<MeshView.Command> mesh = testKit.spawn(MeshView.create(SELF, topic.ref(), snapshots::add,
                    new ExportFeed(testKit.system()), new SettableClock(T0), Duration.ofSeconds(30), Duration.ZERO));
            next(snapshots);
            @SuppressWarnings("unchecked")
            TopicImpl.Subscribe<ExportSet> subscribe = (TopicImpl.Subscribe<ExportSet>) topic.receiveMessage(Duration.ofSeconds(3));
            ExportSet own = ExportSet.EMPTY;
            Map<ClusterId, ExportSet> remote = new TreeMap<>();
            long version = 1;
            for (int step = 0; step < 120; step++) {
                int what = random.nextInt(5);
                if (what < 2) {
                    own = change(random, own, version++);
                    subscribe.subscriber().tell(own);
                } else {
                    ClusterId peer = PEERS.get(random.nextInt(PEERS.size()));
                    ExportSet before = remote.get(peer);
                    ExportSet after = change(random, before == null ? ExportSet.EMPTY : before, version++);
                    if (before == null || what == 4) {
                        mesh.tell(new MeshView.ImportsReceived("link-" + peer, peer, after.version(), after.exports()));
                    } else {
                        List<ServiceExport> upserted = new ArrayList<>();
                        List<ServiceKey> removed = new ArrayList<>();
                        ExportSet.diff(before, after, (key, old, now) -> {
                            if (now == null) {
                                removed.add(key);
                            } else {
                                upserted.add(now);
                            }
                        });
                        mesh.tell(new MeshView.DeltaReceived("link-" + peer, peer, before.version(), after.version(),
                                upserted, removed, () -> {
                                    throw new AssertionError("asked for a resync");
                                }));
                    }
                    remote.put(peer, after);
                }
                MeshView.Snapshot snapshot = next(snapshots);
                Map<ClusterId, List<ServiceExport>> served = new TreeMap<>();
                served.put(SELF, own.exports());
                remote.forEach((peer, set) -> served.put(peer, set.exports()));
                ServiceDirectory full = ServiceDirectory.merge(snapshot.directory().version(), served);
                assertEquals(full, snapshot.directory(), "seed " + seed + " step " + step);
            }
            testKit.stop(mesh);
        }
    }

    private static ExportSet change(Random random, ExportSet set, long version) {
        ExportSet next = set;
        int changes = 1 + random.nextInt(3);
        for (int i = 0; i < changes; i++) {
            ServiceKey key = new ServiceKey("ns", "svc-" + random.nextInt(20));
            if (random.nextInt(4) == 0) {
                next = next.without(key, version);
            } else {
                ServiceType type = random.nextInt(5) == 0 ? ServiceType.HEADLESS : ServiceType.CLUSTER_SET_IP;
                next = next.with(ServiceExport.of(key, type, List.of(ServicePort.parse(random.nextBoolean() ? "http:80/TCP" : "http:8080/TCP")),
                        List.of(IpLiteral.parse("ip", "10.0." + random.nextInt(3) + "." + random.nextInt(3))),
                        T0.plusSeconds(random.nextInt(3))), version);
            }
        }
        return next.version() == version ? next : next.with(next.exports().isEmpty()
                ? ServiceExport.of(new ServiceKey("ns", "always"), ServiceType.CLUSTER_SET_IP,
                List.of(ServicePort.parse("80")), List.of(IpLiteral.parse("ip", "10.9.9.9")), T0)
                : next.exports().getFirst(), version);
    }

    private static MeshView.Snapshot next(LinkedBlockingQueue<MeshView.Snapshot> snapshots) throws InterruptedException {
        MeshView.Snapshot snapshot = snapshots.poll(5, TimeUnit.SECONDS);
        assertNotNull(snapshot, "no snapshot within 5 s");
        assertTrue(snapshot.directory() != null);
        return snapshot;
    }
}
