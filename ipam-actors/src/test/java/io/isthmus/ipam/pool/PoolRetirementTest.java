package io.isthmus.ipam.pool;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.ipam.pool.PoolProtocol.Reply;
import io.isthmus.ipam.pool.PoolProtocol.Request;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Deleting a pool in its ledger: refused while it holds leases, a forced drain in one write, and the end survives recovery. */
class PoolRetirementTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final ClusterId EAST = ClusterId.of("east");
    private static final AtomicInteger IDS = new AtomicInteger();
    private static ActorTestKit testKit;
    private EventSourcedBehaviorTestKit<PoolLedger.Command, PoolEvent, PoolState> ledger;

    @BeforeAll
    static void startSystem() {
        testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config());
    }

    @AfterAll
    static void stopSystem() {
        testKit.shutdownTestKit();
    }

    /** A snapshot after every write, so a restart recovers from the snapshot form of the state. */
    private void start() {
        ledger = EventSourcedBehaviorTestKit.create(testKit.system(),
                PoolLedger.create(PersistenceId.of("IpamPool", "east.r" + IDS.incrementAndGet()),
                        PoolSpec.of("pods", Cidr.parse("cidr", "10.1.0.0/29")), Duration.ofSeconds(30), 1,
                        Duration.ZERO, 3));
    }

    private static Owner owner(OwnerKind kind, String name) {
        return Owner.of(EAST, "shop", kind, name, name + "-uid");
    }

    private EventSourcedBehaviorTestKit.CommandResultWithReply<PoolLedger.Command, PoolEvent, PoolState,
            PoolLedger.BatchApplied> batch(Function<ActorRef<Reply>, Request> request, TestProbe<Reply> probe) {
        return ledger.runCommand(replyTo -> new PoolLedger.ApplyBatch(List.of(request.apply(probe.ref())), T0, replyTo));
    }

    private Reply run(Function<ActorRef<Reply>, Request> request) {
        TestProbe<Reply> probe = testKit.createTestProbe(Reply.class);
        batch(request, probe);
        return probe.receiveMessage(Duration.ofSeconds(3));
    }

    /** One active lease, one parked fixed IP, one open reservation. */
    private void holdThree() {
        assertInstanceOf(PoolProtocol.LeaseGranted.class, run(r -> new PoolProtocol.Allocate(
                AllocationRequest.any(owner(OwnerKind.POD, "a")), r)));
        Owner web = owner(OwnerKind.STATEFUL_POD, "web-0");
        assertInstanceOf(PoolProtocol.LeaseGranted.class, run(r -> new PoolProtocol.Allocate(AllocationRequest.any(web), r)));
        assertInstanceOf(PoolProtocol.ReleaseDone.class, run(r -> new PoolProtocol.Release(web, ReleaseMode.KEEP_FIXED, "", r)));
        assertInstanceOf(PoolProtocol.ReservationMade.class, run(r -> new PoolProtocol.Reserve(
                AllocationRequest.any(owner(OwnerKind.POD, "b")), "", r)));
    }

    @Test
    void aDeleteWithoutForceIsRefusedWhileLeasesAreHeldAndWritesNothing() {
        start();
        holdThree();
        PoolState before = ledger.getState();
        TestProbe<Reply> probe = testKit.createTestProbe(Reply.class);
        var result = batch(r -> new PoolProtocol.Retire(false, r), probe);
        PoolProtocol.Failed failed = assertInstanceOf(PoolProtocol.Failed.class, probe.receiveMessage(Duration.ofSeconds(3)));
        assertEquals(IpamError.POOL_IN_USE, failed.error());
        assertEquals("pool", failed.field());
        assertEquals("pods", failed.value());
        assertTrue(failed.message().contains("holds 3 leases"), failed.message());
        assertEquals(List.of(), result.events());
        assertEquals(before, ledger.getState());
    }

    @Test
    void aForcedDeleteReleasesEveryHoldingAndEndsThePoolInOneWrite() {
        start();
        holdThree();
        TestProbe<Reply> probe = testKit.createTestProbe(Reply.class);
        var result = batch(r -> new PoolProtocol.Retire(true, r), probe);
        assertEquals(new PoolProtocol.Retired("pods", 3, 1, 1, 1), probe.receiveMessage(Duration.ofSeconds(3)));
        PoolEvent.Batch written = assertInstanceOf(PoolEvent.Batch.class, result.event(), "one journal write");
        assertEquals(4, written.changes().size());
        assertTrue(written.changes().subList(0, 3).stream().allMatch(e -> e instanceof PoolEvent.Released r && r.freed()));
        assertInstanceOf(PoolEvent.PoolRetired.class, written.changes().getLast());
        assertTrue(result.reply().retired());
        assertEquals(List.of(), ledger.getState().leases());
        assertNotNull(ledger.getState().retiredAt());
    }

    @Test
    void aDeletedPoolRefusesEverythingAlsoAfterRecoveryFromItsSnapshot() {
        start();
        holdThree();
        run(r -> new PoolProtocol.Retire(true, r));
        ledger.restart();
        assertNotNull(ledger.getState().retiredAt(), "the snapshot keeps the pool's end");
        PoolProtocol.Failed failed = assertInstanceOf(PoolProtocol.Failed.class, run(r -> new PoolProtocol.Allocate(
                AllocationRequest.any(owner(OwnerKind.POD, "c")), r)));
        assertEquals(IpamError.UNKNOWN_POOL, failed.error());
        assertEquals("pods", failed.value());
        assertTrue(failed.message().contains("deleted"), failed.message());
        assertEquals(new PoolProtocol.Retired("pods", 3, 0, 0, 0), run(r -> new PoolProtocol.Retire(false, r)),
                "deleting again is acknowledged and drains nothing");
    }

    @Test
    void anEmptyPoolIsDeletedWithoutForce() {
        start();
        assertEquals(new PoolProtocol.Retired("pods", 3, 0, 0, 0), run(r -> new PoolProtocol.Retire(false, r)));
        assertNotNull(ledger.getState().retiredAt());
    }
}
