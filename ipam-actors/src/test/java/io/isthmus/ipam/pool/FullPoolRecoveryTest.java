package io.isthmus.ipam.pool;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.PoolStatus;
import io.isthmus.ipam.JournalSystems;
import io.isthmus.ipam.pool.PoolProtocol.Reply;
import io.isthmus.testing.PostgresServer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * A /16 with every address leased (65,534 leases) recovers from its snapshot on a real journal, state intact. The
 * recovery time is printed (with and without a snapshot to start from), not asserted: it depends on the machine.
 */
class FullPoolRecoveryTest {
    private static final PoolSpec SLASH_16 = PoolSpec.of("big", Cidr.parse("cidr", "10.20.0.0/16"));
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void aFullSlash16RecoversFromItsSnapshotOnH2(@TempDir Path dir) throws Exception {
        fillAndRecover(new JournalSystems.H2(dir));
    }

    @Test
    void aFullSlash16RecoversFromItsSnapshotOnPostgres() throws Exception {
        try (PostgresServer postgres = PostgresServer.start()) {
            fillAndRecover(new JournalSystems.Postgres(postgres.url()));
        }
    }

    private void fillAndRecover(JournalSystems.Journal journal) throws Exception {
        PersistenceId withSnapshots = PersistenceId.of("IpamPool", "east.big");
        PersistenceId eventsOnly = PersistenceId.of("IpamPool", "east.big-events-only");
        ActorSystem<Void> system = JournalSystems.start("recovery", journal);
        PoolStatus full;
        try {
            fill(system, withSnapshots, 10);      // a snapshot every 10 writes: the last one is at most 9 writes old
            full = fill(system, eventsOnly, 1_000_000); // never a snapshot: recovery replays every write
        } finally {
            JournalSystems.stop(system);
        }
        assertEquals(65_534, full.active());

        system = JournalSystems.start("recovery", journal);
        try {
            // The first recovery of the JVM also pays for class loading and JIT: the second one is what a running
            // gateway sees when a pool moves to it.
            long coldSnapshot = recover(system, withSnapshots, full, 1);
            long coldEvents = recover(system, eventsOnly, full, 1);
            long warmSnapshot = recover(system, withSnapshots, full, 2);
            long warmEvents = recover(system, eventsOnly, full, 2);
            System.out.printf("full /16 (65,534 leases) on %s: recovered in %d ms from its snapshot, %d ms from events only"
                    + " (first recoveries in this JVM: %d ms, %d ms)%n", journal, warmSnapshot, warmEvents, coldSnapshot,
                    coldEvents);
        } finally {
            JournalSystems.stop(system);
        }
    }

    /** Leases every address of the /16 in batches of 1,000 requests (one journal write each). */
    private PoolStatus fill(ActorSystem<Void> system, PersistenceId id, int snapshotEvery) throws Exception {
        ActorRef<PoolLedger.Command> ledger = system.systemActorOf(
                PoolLedger.create(id, SLASH_16, Duration.ofSeconds(30), snapshotEvery), "fill-" + id.entityId(), Props.empty());
        ActorRef<Reply> ignore = system.ignoreRef();
        int owner = 0;
        for (int batch = 0; batch < 66; batch++) {
            List<PoolProtocol.Request> requests = new ArrayList<>();
            for (int i = 0; i < 1000 && owner < 65_534; i++, owner++) {
                requests.add(new PoolProtocol.Allocate(AllocationRequest.any(Owner.of(ClusterId.of("east"), "ns",
                        OwnerKind.POD, "pod-" + owner, "u")), ignore));
            }
            AskPattern.<PoolLedger.Command, PoolLedger.BatchApplied>ask(ledger,
                    replyTo -> new PoolLedger.ApplyBatch(requests, Instant.now(), replyTo), TIMEOUT, system.scheduler())
                    .toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        Reply exhausted = ask(system, ledger, r -> new PoolProtocol.Allocate(AllocationRequest.any(Owner.of(
                ClusterId.of("east"), "ns", OwnerKind.POD, "one-too-many", "u")), r));
        assertEquals(IpamError.POOL_EXHAUSTED, assertInstanceOf(PoolProtocol.Failed.class, exhausted).error());
        return status(system, ledger);
    }

    private long recover(ActorSystem<Void> system, PersistenceId id, PoolStatus expected, int round) throws Exception {
        long start = System.nanoTime();
        ActorRef<PoolLedger.Command> ledger = system.systemActorOf(
                PoolLedger.create(id, SLASH_16, Duration.ofSeconds(30), 10), "recover-" + round + "-" + id.entityId(),
                Props.empty());
        PoolStatus recovered = status(system, ledger);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(expected, recovered);
        Reply exhausted = ask(system, ledger, r -> new PoolProtocol.Allocate(AllocationRequest.any(Owner.of(
                ClusterId.of("east"), "ns", OwnerKind.POD, "still-too-many", "u")), r));
        assertEquals(IpamError.POOL_EXHAUSTED, assertInstanceOf(PoolProtocol.Failed.class, exhausted).error());
        // Left running: recovery writes nothing (the pool is full), so two readers of one journal do no harm.
        return millis;
    }

    private PoolStatus status(ActorSystem<Void> system, ActorRef<PoolLedger.Command> ledger) throws Exception {
        return assertInstanceOf(PoolProtocol.StatusReport.class, ask(system, ledger, PoolProtocol.GetStatus::new)).status();
    }

    private Reply ask(ActorSystem<Void> system, ActorRef<PoolLedger.Command> ledger,
                      java.util.function.Function<ActorRef<Reply>, PoolProtocol.Request> request) throws Exception {
        return AskPattern.<PoolLedger.Command, Reply>ask(ledger, replyTo -> new PoolLedger.ApplyBatch(
                        List.of(request.apply(replyTo)), Instant.now(), system.ignoreRef()), TIMEOUT, system.scheduler())
                .toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
}
