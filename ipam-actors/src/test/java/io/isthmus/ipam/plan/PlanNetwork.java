package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.PlanLedger.Step;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Clusters running the pure {@link PlanLedger}, wired by an in-test router that can drop, duplicate, reorder and
 * partition messages, crash and restart clusters. A cluster's journal is every event its steps produced (the
 * entity persists them before anything leaves); a restart rebuilds the state from the journal alone.
 */
final class PlanNetwork {

    record InFlight(ClusterId from, ClusterId to, PlanMessage message) {
    }

    static final class Node {
        final ClusterId id;
        final PlanConfig config;
        PlanState state;
        final List<PlanEvent> journal = new ArrayList<>();
        boolean up = true;

        Node(PlanConfig config) {
            this.id = config.self();
            this.config = config;
            this.state = PlanState.initial(config);
        }
    }

    final Map<ClusterId, Node> nodes = new LinkedHashMap<>();
    final List<InFlight> inFlight = new ArrayList<>();
    final Map<String, PlanOutput> outcomes = new HashMap<>();
    final List<String> warnings = new ArrayList<>();
    /** Cluster → the side of the partition it is on; everyone on side 0 when healed. */
    private final Map<ClusterId, Integer> side = new HashMap<>();
    long now = 1_000_000;
    long delivered;

    PlanNetwork(List<String> names, Function<ClusterId, PlanConfig> configFor) {
        for (String name : names) {
            ClusterId id = ClusterId.of(name);
            nodes.put(id, new Node(configFor.apply(id)));
            side.put(id, 0);
        }
    }

    /** Clusters named {@code names}, pod segments /24 of {@code podSupernet}, global /24s of 100.64.0.0/16. */
    static PlanNetwork of(String podSupernet, String... names) {
        SortedSet<ClusterId> members = new TreeSet<>();
        for (String name : names) {
            members.add(ClusterId.of(name));
        }
        return new PlanNetwork(List.of(names), self -> PlanConfig.of(self, members, Map.of(
                SegmentKind.POD, List.of(Supernet.parse("pod", podSupernet, 24)),
                SegmentKind.SERVICE, List.of(Supernet.parse("service", "10.96.0.0/16", 20)),
                SegmentKind.GLOBAL, List.of(Supernet.parse("global", "100.64.0.0/16", 24)))));
    }

    static ClusterId id(String name) {
        return ClusterId.of(name);
    }

    Node node(String name) {
        return nodes.get(id(name));
    }

    PlanState state(String name) {
        return node(name).state;
    }

    /** Runs one input at a cluster; what it sends goes on the wire (or is lost, across a partition). */
    /** Peer messages (or views) the ledgers refused, as "at: Rejected[...]". */
    final List<String> rejected = new ArrayList<>();

    Step input(ClusterId at, PlanInput input) {
        Node node = nodes.get(at);
        if (!node.up) {
            return new Step(node.state, List.of(), List.of());
        }
        Step step = PlanLedger.step(node.state, input);
        node.state = step.state();
        node.journal.addAll(step.events());
        for (PlanOutput output : step.outputs()) {
            switch (output) {
                case PlanOutput.Send(ClusterId to, PlanMessage message) -> post(at, to, message);
                case PlanOutput.SendToAll(PlanMessage message) -> node.config.peers().forEach(p -> post(at, p, message));
                case PlanOutput.Granted granted -> outcomes.put(granted.requestId(), granted);
                case PlanOutput.Refused refused -> outcomes.put(refused.requestId(), refused);
                case PlanOutput.Warning(String text) -> warnings.add(at + ": " + text);
                case PlanOutput.Rejected rejected -> this.rejected.add(at + ": " + rejected);
            }
        }
        return step;
    }

    Step input(String at, PlanInput input) {
        return input(id(at), input);
    }

    Step request(String at, String requestId, String kind, String cidr) {
        return input(at, new PlanInput.RequestSegment(requestId, kind, cidr, now));
    }

    private void post(ClusterId from, ClusterId to, PlanMessage message) {
        if (reachable(from, to)) {
            inFlight.add(new InFlight(from, to, message));
        }
    }

    boolean reachable(ClusterId a, ClusterId b) {
        return side.get(a).equals(side.get(b)) && nodes.get(a).up && nodes.get(b).up;
    }

    /** Delivers one message in flight (lost if its ends cannot reach each other any more). */
    void deliver(int index) {
        InFlight message = inFlight.remove(index);
        if (reachable(message.from(), message.to())) {
            delivered++;
            input(message.to(), new PlanInput.Deliver(message.from(), message.message(), now));
        }
    }

    /** Delivers in order until nothing is in flight; bounded, since a protocol that never quiets is a bug. */
    void settle() {
        for (int i = 0; !inFlight.isEmpty(); i++) {
            if (i > 100_000) {
                throw new AssertionError("the network never settles: " + inFlight.subList(0, 5));
            }
            deliver(0);
        }
    }

    /** Time passes by {@code millis}: every cluster ticks (retransmits, deadlines), then messages settle. */
    void tickAndSettle(long millis) {
        now += millis;
        for (ClusterId id : nodes.keySet()) {
            input(id, new PlanInput.Tick(now));
        }
        settle();
    }

    void gossipAndSettle() {
        for (ClusterId id : nodes.keySet()) {
            input(id, PlanInput.Gossip.INSTANCE);
        }
        settle();
    }

    void partition(Set<String> minority) {
        for (ClusterId id : nodes.keySet()) {
            side.put(id, minority.contains(id.value()) ? 1 : 0);
        }
    }

    void heal() {
        side.replaceAll((id, s) -> 0);
        for (ClusterId id : nodes.keySet()) {
            for (ClusterId peer : nodes.get(id).config.peers()) {
                input(id, new PlanInput.PeerConnected(peer));
            }
        }
    }

    void crash(String name) {
        node(name).up = false;
    }

    /** Restarts a cluster from its journal: whatever was not in an event is gone. */
    void restart(String name) {
        Node node = node(name);
        node.state = PlanState.recover(node.config, node.journal);
        node.up = true;
    }

    /** What each cluster itself holds: the truth the invariant is about. */
    Map<ClusterId, List<Claim>> heldByEveryone() {
        Map<ClusterId, List<Claim>> held = new LinkedHashMap<>();
        nodes.forEach((id, node) -> held.put(id, node.state.held()));
        return held;
    }

    /** The safety invariant: no two held segments overlap, whoever holds them. */
    void assertNoOverlap(String when) {
        List<Claim> all = heldByEveryone().values().stream().flatMap(List::stream).toList();
        List<Cidr> ranges = all.stream().map(Claim::range).toList();
        for (int i = 0; i < all.size(); i++) {
            for (int j = i + 1; j < all.size(); j++) {
                if (ranges.get(i).overlaps(ranges.get(j))) {
                    throw new AssertionError(when + ": " + all.get(i).claimant() + " holds " + all.get(i) + " and "
                            + all.get(j).claimant() + " holds " + all.get(j) + "\n" + describe());
                }
            }
        }
    }

    /** Random delivery: a message in flight is delivered, dropped, or duplicated (then delivered). */
    void chaosStep(Random random, double drop, double duplicate) {
        if (inFlight.isEmpty()) {
            return;
        }
        int index = random.nextInt(inFlight.size());
        double dice = random.nextDouble();
        if (dice < drop) {
            inFlight.remove(index);
        } else if (dice < drop + duplicate) {
            inFlight.add(inFlight.get(index));
            deliver(index);
        } else {
            deliver(index);
        }
    }

    String describe() {
        StringBuilder text = new StringBuilder();
        nodes.values().forEach(n -> text.append("  ").append(n.state).append(n.up ? "" : " (down)").append('\n'));
        return text.toString();
    }
}
