package io.isthmus.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.PeerChannels;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Two clusters' exchanges wired back to back (a link is a pair of functions that hand each message to the other
 * side, in order, or lose it when told to): east learns west's pods and namespace labels, follows every change,
 * recovers from a lost message by asking for a snapshot, starts over when west restarts, shows a change that spans
 * several messages only once it is whole, and keeps at most its limit of pods per peer.
 */
class WorkloadExchangeTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");

    /** One direction of a link: delivers to {@code to}, except the messages {@code lose} picks. */
    private static final class Wire implements Predicate<PeerMessage> {
        WorkloadExchange to;
        PeerChannels.Link replyLink;
        Predicate<PeerMessage> lose = message -> false;
        final List<PeerMessage> carried = new ArrayList<>();

        @Override
        public boolean test(PeerMessage message) {
            carried.add(message);
            if (!lose.test(message)) {
                to.received(replyLink, message.getWorkloads());
            }
            return true;
        }
    }

    private final Metrics eastMetrics = new Metrics();
    private final WorkloadExchange east = WorkloadExchange.start(new PeerChannels(), 100, eastMetrics);
    private WorkloadExchange west = WorkloadExchange.start(new PeerChannels(), 100, new Metrics());
    private final Wire westToEast = new Wire();
    private final Wire eastToWest = new Wire();

    private void connect() {
        westToEast.to = east;
        eastToWest.to = west;
        PeerChannels.Link westSideLink = new PeerChannels.Link(EAST, null, westToEast);
        PeerChannels.Link eastSideLink = new PeerChannels.Link(WEST, null, eastToWest);
        westToEast.replyLink = eastSideLink; // east answers (snapshot requests) on its side of the link
        eastToWest.replyLink = westSideLink;
        west.linkUp(westSideLink);
        east.linkUp(eastSideLink);
    }

    private static Workloads.Pod pod(String ip, String namespace, String name, Map<String, String> labels) {
        return new Workloads.Pod(address(ip), namespace, name, labels);
    }

    private static InetAddress address(String ip) {
        return io.isthmus.api.IpLiteral.parse("ip", ip);
    }

    private static Workloads workloads(List<Workloads.Pod> pods, Map<String, Map<String, String>> namespaces) {
        Map<InetAddress, Workloads.Pod> byAddress = new HashMap<>();
        pods.forEach(pod -> byAddress.put(pod.address(), pod));
        return new Workloads(byAddress, namespaces);
    }

    private Workloads westAtEast() {
        return east.remote().getOrDefault(WEST, Workloads.NONE);
    }

    @Test
    void aPeerLearnsTheOthersPodsAndFollowsEveryChange() {
        west.publish(workloads(List.of(pod("10.2.0.5", "shop", "web-1", Map.of("app", "web"))),
                Map.of("shop", Map.of("team", "a"))));
        connect();
        assertEquals(Map.of("app", "web"), westAtEast().pods().get(address("10.2.0.5")).labels());
        assertEquals("web-1", westAtEast().named("shop", "web-1").orElseThrow().name());
        assertEquals(Map.of("team", "a"), westAtEast().namespaceLabels().get("shop"));

        // A label changes, a pod comes, namespace labels change.
        west.publish(workloads(List.of(pod("10.2.0.5", "shop", "web-1", Map.of("app", "web", "tier", "front")),
                pod("10.2.0.6", "db", "pg-0", Map.of())), Map.of("shop", Map.of("team", "b"), "db", Map.of())));
        assertEquals(2, westAtEast().pods().size());
        assertEquals("front", westAtEast().pods().get(address("10.2.0.5")).labels().get("tier"));
        assertEquals(Map.of("team", "b"), westAtEast().namespaceLabels().get("shop"));

        // A pod and a namespace go; an unchanged publish sends nothing.
        west.publish(workloads(List.of(pod("10.2.0.6", "db", "pg-0", Map.of())), Map.of("db", Map.of())));
        assertEquals(List.of(address("10.2.0.6")), List.copyOf(westAtEast().pods().keySet()));
        assertEquals(List.of("db"), List.copyOf(westAtEast().namespaceLabels().keySet()));
        int carried = westToEast.carried.size();
        west.publish(workloads(List.of(pod("10.2.0.6", "db", "pg-0", Map.of())), Map.of("db", Map.of())));
        assertEquals(carried, westToEast.carried.size(), "nothing changed, nothing sent");
    }

    @Test
    void aLostMessageIsNoticedAndASnapshotRepairsIt() throws InterruptedException {
        connect();
        westToEast.lose = message -> message.getWorkloads().getUpsertedList().stream()
                .anyMatch(w -> w.getAddress().equals("10.2.0.7"));
        west.publish(workloads(List.of(pod("10.2.0.7", "shop", "lost", Map.of())), Map.of()));
        assertTrue(westAtEast().pods().isEmpty(), "the message that said so was lost");
        westToEast.lose = message -> false;

        // The next delta shows the gap; east asks for a snapshot and west sends it at once.
        west.publish(workloads(List.of(pod("10.2.0.7", "shop", "lost", Map.of()), pod("10.2.0.8", "shop", "next", Map.of())),
                Map.of()));
        assertEquals(2, westAtEast().pods().size(), "repaired by the snapshot: " + westAtEast().pods().keySet());
        assertTrue(eastToWest.carried.stream().anyMatch(m -> m.getWorkloads().getSnapshotRequested()));
    }

    @Test
    void aRestartedPeerStartsANewStreamThatReplacesWhatItSaidBefore() {
        west.publish(workloads(List.of(pod("10.2.0.5", "shop", "old", Map.of())), Map.of()));
        connect();
        assertEquals(1, westAtEast().pods().size());

        west = WorkloadExchange.start(new PeerChannels(), 100, new Metrics()); // new process, new epoch, sequence from 1
        west.publish(workloads(List.of(pod("10.2.0.9", "shop", "new", Map.of())), Map.of()));
        connect();
        assertEquals(List.of(address("10.2.0.9")), List.copyOf(westAtEast().pods().keySet()));
    }

    @Test
    void partsOfAChangeAreNotShownBeforeTheLastArrives() {
        connect();
        List<Workloads.Pod> many = new ArrayList<>();
        for (int i = 0; i < 1100; i++) {
            many.add(pod("10.4." + (i / 250) + "." + (i % 250 + 1), "bulk", "p" + i, Map.of()));
        }
        List<Integer> shownBeforeEachMessage = new ArrayList<>();
        westToEast.lose = message -> {
            shownBeforeEachMessage.add(westAtEast().pods().size());
            return false;
        };
        west.publish(workloads(many, Map.of()));
        assertTrue(shownBeforeEachMessage.size() >= 3, "1100 pods need several messages: " + shownBeforeEachMessage);
        assertEquals(100, westAtEast().pods().size(), "east keeps at most its limit of 100 pods for west");
        assertTrue(shownBeforeEachMessage.stream().allMatch(n -> n == 0), "nothing shown half way: " + shownBeforeEachMessage);
        assertTrue(eastMetrics.render().contains("isthmus_policy_workloads_refused_total{peer=\"west\",reason=\"max-workloads-per-peer\"} 1000"),
                eastMetrics.render());
    }
}
