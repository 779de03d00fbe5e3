package io.isthmus.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolDeletion;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.ReclaimRecord;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.api.ipam.ReleaseOutcome;
import io.isthmus.api.ipam.Reservation;
import io.isthmus.ipam.OwnerLiveness.OwnerState;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The IPAM facade on a real journal, through cluster sharding: the same tests run on every journal
 * ({@link IpamOnH2Test}, {@link IpamOnPostgresTest}). Each test uses a cluster of its own, so pools never meet.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class IpamContract {
    static final IpamSettings SETTINGS = IpamSettings.fromConfig(com.typesafe.config.ConfigFactory.load())
            .withReservationTimeout(Duration.ofSeconds(1))
            .withExpiryCheckInterval(Duration.ofMillis(100))
            .withReclaimGrace(Duration.ofSeconds(1))
            .withReclaimInterval(Duration.ofMillis(200))
            // These cases expect a freed address to be the next one given; the delay has its own tests (PoolLedgerTest).
            .withReuseDelay(Duration.ZERO);
    private static final AtomicInteger CLUSTERS = new AtomicInteger();

    final DrivenLiveness liveness = new DrivenLiveness();
    ActorSystem<Void> system;

    abstract JournalSystems.Journal journal() throws Exception;

    void closeJournal() throws Exception {
    }

    @BeforeAll
    void startSystem() throws Exception {
        system = JournalSystems.start("ipam", journal());
    }

    @AfterAll
    void stopSystem() throws Exception {
        try {
            JournalSystems.stop(system);
        } finally {
            closeJournal();
        }
    }

    /** A facade for a fresh cluster whose segments are {@code segments}. */
    Ipam ipam(String... segments) {
        ClusterId cluster = ClusterId.of("c" + CLUSTERS.incrementAndGet());
        List<Cidr> held = new ArrayList<>();
        for (String segment : segments.length == 0 ? new String[]{"10.0.0.0/8", "fd00::/8"} : segments) {
            held.add(Cidr.parse("segment", segment));
        }
        try {
            return JournalSystems.ready(Ipam.start(system, cluster, SegmentGuard.within(held), liveness, SETTINGS,
                    Clock.systemUTC()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static <T> T await(CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    static IpamException refused(CompletionStage<?> stage) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> stage.toCompletableFuture().get(20, TimeUnit.SECONDS));
        return assertInstanceOf(IpamException.class, e.getCause(), String.valueOf(e.getCause()));
    }

    static PoolSpec pool(String name, String... cidrs) {
        List<Cidr> list = new ArrayList<>();
        for (String cidr : cidrs) {
            list.add(Cidr.parse("cidr", cidr));
        }
        return new PoolSpec(name, list, List.of(), List.of(), List.of(), List.of());
    }

    static Owner pod(Ipam ipam, String name) {
        return Owner.of(ipam.cluster(), "shop", OwnerKind.POD, name, name + "-1");
    }

    static InetAddress ip(String text) {
        return IpLiteral.parse("ip", text);
    }

    static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within 15 s: " + what);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void aCreatedPoolIsListedAndCreatingItAgainChangesNothing() throws Exception {
        Ipam ipam = ipam();
        PoolSpec pods = pool("pods", "10.1.0.0/16", "fd00:1::/64");
        assertEquals(pods, await(ipam.createPool(pods)));
        assertEquals(pods, await(ipam.createPool(pods)));
        assertEquals(List.of(pods), await(ipam.pools()));
        assertEquals(pods, await(ipam.pool("pods")).spec());
    }

    @Test
    void overlappingPoolsAndReusedNamesAreRefusedAndLeaveNothingBehind() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/16")));
        IpamException overlap = refused(ipam.createPool(pool("more", "10.1.128.0/24")));
        assertEquals(IpamError.POOL_OVERLAPS, overlap.error());
        assertTrue(overlap.getMessage().contains("pods"), overlap.getMessage());
        assertEquals(IpamError.POOL_EXISTS, refused(ipam.createPool(pool("pods", "10.2.0.0/16"))).error());
        assertEquals(List.of("pods"), await(ipam.pools()).stream().map(PoolSpec::name).toList());
        assertEquals(IpamError.UNKNOWN_POOL, refused(ipam.allocate("more", AllocationRequest.any(pod(ipam, "a")))).error());
    }

    @Test
    void aPoolAskedForBeforeItExistedServesOnceCreated() throws Exception {
        Ipam ipam = ipam();
        assertEquals(IpamError.UNKNOWN_POOL, refused(ipam.allocate("later", AllocationRequest.any(pod(ipam, "a")))).error());
        await(ipam.createPool(pool("later", "10.1.0.0/24")));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) { // the entity that said UNKNOWN_POOL passivates; the next one loads the new spec
            try {
                assertEquals(List.of(ip("10.1.0.1")), await(ipam.allocate("later", AllocationRequest.any(pod(ipam, "a")))).ips());
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof IpamException ipamError && ipamError.error() == IpamError.UNKNOWN_POOL)
                        || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    @Test
    void aPoolOutsideTheClustersSegmentsIsRefusedAndNotCreated() throws Exception {
        Ipam ipam = ipam("10.1.0.0/16");
        IpamException outside = refused(ipam.createPool(pool("pods", "10.1.0.0/24", "fd00:1::/64")));
        assertEquals(IpamError.OUTSIDE_SEGMENTS, outside.error());
        assertEquals("pool.cidr", outside.field());
        assertEquals("fd00:1::/64", outside.value());
        assertEquals(List.of(), await(ipam.pools()));
        assertEquals(IpamError.UNKNOWN_POOL, refused(ipam.pool("pods")).error());
    }

    @Test
    void badInputIsRefusedWithTheFieldAndValue() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        IpamException badName = refused(ipam.leases("Pods_1"));
        assertEquals(IpamError.INVALID_INPUT, badName.error());
        assertEquals("pool", badName.field());
        assertEquals("Pods_1", badName.value());
        Owner foreign = Owner.of(ClusterId.of("elsewhere"), "shop", OwnerKind.POD, "a", "u");
        IpamException wrongCluster = refused(ipam.allocate("pods", AllocationRequest.any(foreign)));
        assertEquals("owner.cluster", wrongCluster.field());
        IpamException outside = refused(ipam.allocate("pods", AllocationRequest.exactly(pod(ipam, "a"), ip("10.9.9.9"))));
        assertEquals(IpamError.INVALID_INPUT, outside.error());
        assertEquals("request.ip", outside.field());
        assertEquals(IpamError.UNKNOWN_RESERVATION, refused(ipam.commit("pods", "pods-999")).error());
        InvalidFieldException spec = assertThrows(InvalidFieldException.class, () -> pool("pods", "10.1.0.1/24"));
        assertEquals("cidr", spec.field());
        assertEquals(List.of(), await(ipam.leases("pods")));
    }

    @Test
    void allocateReleaseAndLeasesThroughTheFacade() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        Lease a = await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "a"))));
        Lease b = await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "b"))));
        assertEquals(List.of(ip("10.1.0.1")), a.ips());
        assertEquals(List.of(ip("10.1.0.2")), b.ips());
        assertEquals(List.of(a, b), await(ipam.leases("pods")));
        assertEquals(ReleaseOutcome.FREED, await(ipam.release("pods", pod(ipam, "a"))).outcome());
        assertEquals(List.of(b), await(ipam.leases("pods")));
        var usage = await(ipam.pool("pods")).usage().getFirst();
        assertEquals(254, usage.capacity().longValue());
        assertEquals(1, usage.used());
    }

    @Test
    void anUncommittedReservationExpiresByItselfAndACommittedOneStays() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        Reservation dropped = await(ipam.reserve("pods", AllocationRequest.any(pod(ipam, "a"))));
        Reservation kept = await(ipam.reserve("pods", AllocationRequest.any(pod(ipam, "b"))));
        Lease lease = await(ipam.commit("pods", kept.reservationId()));
        assertEquals(kept.ips(), lease.ips());
        eventually("the reservation of a expires", () -> leasesOf(ipam, "pods").size() == 1);
        assertEquals(List.of(lease), leasesOf(ipam, "pods"));
        assertEquals(IpamError.UNKNOWN_RESERVATION, refused(ipam.commit("pods", dropped.reservationId())).error());
    }

    @Test
    void theReclaimerFreesGoneOwnersAfterTheGraceButNeverTheFixedIpOfAnIdentityThatExists() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        Owner gone = pod(ipam, "gone");
        Owner web0 = Owner.of(ipam.cluster(), "shop", OwnerKind.STATEFUL_POD, "web-0", "w1");
        Lease goneLease = await(ipam.allocate("pods", AllocationRequest.any(gone)));
        Lease webLease = await(ipam.allocate("pods", AllocationRequest.any(web0)));
        await(ipam.release("pods", web0)); // parked: the fixed IP waits for web-0's next incarnation
        liveness.set(web0, OwnerState.IDENTITY_KEPT);
        long goneAt = System.nanoTime();
        liveness.set(gone, OwnerState.GONE);
        eventually("the gone pod's lease is reclaimed", () -> leasesOf(ipam, "pods").size() == 1);
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - goneAt);
        assertTrue(took >= SETTINGS.reclaimGrace().toMillis(), "reclaimed after " + took + " ms, before the grace");
        List<ReclaimRecord> reclaims = await(ipam.reclaims("pods"));
        assertEquals(1, reclaims.size());
        assertEquals(gone, reclaims.getFirst().owner());
        assertEquals(goneLease.ips(), reclaims.getFirst().addresses());
        assertEquals(1, await(ipam.pool("pods")).reclaimed());

        Thread.sleep(SETTINGS.reclaimGrace().toMillis() * 2);
        Lease parked = leasesOf(ipam, "pods").getFirst();
        assertEquals(LeaseState.PARKED, parked.state());
        assertEquals(webLease.ips(), parked.ips());
        assertEquals(webLease.ips(), await(ipam.allocate("pods", AllocationRequest.any(web0.withUid("w2")))).ips());

        liveness.set(web0.withUid("w2"), OwnerState.GONE);
        List<ReclaimRecord> now = await(ipam.reclaimNow("pods"));
        assertEquals(1, now.size(), now.toString());
        assertEquals(webLease.ips(), now.getFirst().addresses());
        assertEquals(List.of(), leasesOf(ipam, "pods"));
        assertEquals(2, await(ipam.pool("pods")).reclaimed());
    }

    static List<Lease> leasesOf(Ipam ipam, String pool) {
        try {
            return await(ipam.leases(pool));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void leasesAndReclaimsSurviveARestartOfTheActorSystem() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24", "fd00:1::/120")));
        List<Lease> before = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            before.add(await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "p" + i)))));
        }
        Reservation open = await(ipam.reserve("pods", AllocationRequest.any(pod(ipam, "r"))));
        JournalSystems.stop(system);
        system = JournalSystems.start("ipam", journal());
        Ipam again = JournalSystems.ready(Ipam.start(system, ipam.cluster(), SegmentGuard.within(List.of()), liveness,
                SETTINGS, Clock.systemUTC()));
        assertEquals(List.of(pool("pods", "10.1.0.0/24", "fd00:1::/120")), await(again.pools()));
        eventually("the open reservation expires after the restart too",
                () -> leasesOf(again, "pods").stream().noneMatch(l -> l.owner().name().equals("r")));
        before.sort(java.util.Comparator.comparing(l -> l.owner().identity()));
        assertEquals(before, leasesOf(again, "pods"));
        assertEquals(open.ips(), await(again.allocate("pods", AllocationRequest.any(pod(again, "new")))).ips(),
                "the expired reservation's addresses went back to the pool");
    }

    /**
     * Seeded random allocations, releases, reservations (some never committed), forgets and owners that die (the
     * reclaimer takes their leases) from many owners at once: no address is ever held by two owners, every
     * acknowledged lease of a live owner is there, also after expiry and reclaim, and nothing of a dead one stays.
     */
    @Test
    void randomizedOperationsNeverGiveOneAddressToTwoOwnersAndLoseNoAcknowledgedLease() throws Exception {
        long seed = Long.getLong("ipam.seed", 20261126L);
        Random random = new Random(seed);
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/26", "fd00:1::/122")));
        List<Owner> owners = new ArrayList<>();
        for (int i = 0; i < 80; i++) {
            OwnerKind kind = i % 4 == 0 ? OwnerKind.STATEFUL_POD : OwnerKind.POD;
            owners.add(Owner.of(ipam.cluster(), "ns", kind, "o" + i, "u0"));
        }
        Map<String, List<InetAddress>> acknowledged = new HashMap<>(); // identity -> addresses the client was told
        Set<String> dead = new HashSet<>();
        for (int wave = 0; wave < 60; wave++) {
            if (random.nextInt(4) == 0) { // an owner dies: from now on the reclaimer may take its lease
                Owner dying = owners.remove(random.nextInt(owners.size()));
                liveness.set(dying, OwnerState.GONE);
                dead.add(dying.identity());
                acknowledged.remove(dying.identity());
            }
            List<Owner> shuffled = new ArrayList<>(owners);
            java.util.Collections.shuffle(shuffled, random);
            List<CompletableFuture<Runnable>> inFlight = new ArrayList<>();
            for (Owner owner : shuffled.subList(0, 24)) { // each owner at most once per wave
                int op = random.nextInt(10);
                String id = owner.identity();
                if (op < 4) {
                    inFlight.add(ipam.allocate("pods", AllocationRequest.any(owner)).toCompletableFuture()
                            .handle((lease, failure) -> () -> {
                                if (lease != null) {
                                    acknowledged.put(id, lease.ips());
                                } else if (!(failure.getCause() instanceof IpamException e && e.error() == IpamError.POOL_EXHAUSTED)) {
                                    fail("allocate " + owner + ": " + failure);
                                }
                            }));
                } else if (op < 6) {
                    boolean commit = random.nextBoolean();
                    inFlight.add(ipam.reserve("pods", AllocationRequest.any(owner)).toCompletableFuture()
                            .thenCompose(r -> commit ? ipam.commit("pods", r.reservationId()).thenApply(l -> (Object) l)
                                    : CompletableFuture.completedFuture((Object) r))
                            .handle((result, failure) -> () -> {
                                if (result instanceof Lease lease) {
                                    acknowledged.put(id, lease.ips());
                                } else if (failure != null && !(failure.getCause() instanceof IpamException e
                                        && e.error() == IpamError.POOL_EXHAUSTED)) {
                                    fail("reserve " + owner + ": " + failure);
                                }
                            }));
                } else {
                    ReleaseMode mode = op == 9 ? ReleaseMode.FORGET : ReleaseMode.KEEP_FIXED;
                    inFlight.add(ipam.release("pods", owner, mode).toCompletableFuture().handle((result, failure) -> () -> {
                        if (failure != null) {
                            fail("release " + owner + ": " + failure);
                        }
                        if (result.outcome() == ReleaseOutcome.FREED) {
                            acknowledged.remove(id);
                        }
                    }));
                }
            }
            for (CompletableFuture<Runnable> f : inFlight) {
                f.get(20, TimeUnit.SECONDS).run();
            }
            if (wave % 10 == 9) {
                checkLeases(ipam, acknowledged, seed);
            }
        }
        Thread.sleep(1500); // every uncommitted reservation has expired
        checkLeases(ipam, acknowledged, seed);
        assertTrue(leasesOf(ipam, "pods").stream().noneMatch(l -> l.state() == LeaseState.RESERVED));
        eventually("the reclaimer took every dead owner's lease (seed " + seed + ")",
                () -> leasesOf(ipam, "pods").stream().noneMatch(l -> dead.contains(l.owner().identity())));
        checkLeases(ipam, acknowledged, seed);
        assertTrue(await(ipam.pool("pods")).reclaimed() > 0, "seed " + seed + ": the run exercised the reclaimer");
    }

    private static void checkLeases(Ipam ipam, Map<String, List<InetAddress>> acknowledged, long seed) {
        List<Lease> leases = leasesOf(ipam, "pods");
        Set<InetAddress> seen = new HashSet<>();
        for (Lease lease : leases) {
            for (InetAddress address : lease.ips()) {
                assertTrue(seen.add(address), "seed " + seed + ": " + address + " is held twice: " + leases);
            }
        }
        Map<String, List<InetAddress>> held = new HashMap<>();
        leases.forEach(l -> held.put(l.owner().identity(), l.ips()));
        acknowledged.forEach((identity, ips) -> assertEquals(ips, held.get(identity),
                "seed " + seed + ": the acknowledged lease of " + identity + " is gone or changed"));
    }

    // --- deleting pools -----------------------------------------------------------------------------------------

    @Test
    void aPoolHoldingLeasesIsNotDeletedWithoutForceAndKeepsThem() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        Lease a = await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "a"))));
        Lease b = await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "b"))));
        IpamException inUse = refused(ipam.deletePool("pods", false));
        assertEquals(IpamError.POOL_IN_USE, inUse.error());
        assertEquals("pool", inUse.field());
        assertEquals("pods", inUse.value());
        assertTrue(inUse.getMessage().contains("pods") && inUse.getMessage().contains("2 leases"), inUse.getMessage());
        assertEquals(List.of(a, b), await(ipam.leases("pods")));
        assertEquals(List.of(pool("pods", "10.1.0.0/24")), await(ipam.pools()));
    }

    @Test
    void aForcedDeleteDrainsThePoolAndAllocationsOnItAreRefusedAsNoSuchPool() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        await(ipam.createPool(pool("other", "10.2.0.0/24")));
        Owner web0 = Owner.of(ipam.cluster(), "shop", OwnerKind.STATEFUL_POD, "web-0", "w1");
        await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "a"))));
        await(ipam.allocate("pods", AllocationRequest.any(web0)));
        await(ipam.release("pods", web0)); // parked fixed IP
        await(ipam.reserve("pods", AllocationRequest.any(pod(ipam, "r"))));
        PoolDeletion deleted = await(ipam.deletePool("pods", true));
        assertEquals(new PoolDeletion("pods", 1, 1, 1), deleted);
        assertEquals(List.of(pool("other", "10.2.0.0/24")), await(ipam.pools()));
        IpamException gone = refused(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "c"))));
        assertEquals(IpamError.UNKNOWN_POOL, gone.error());
        assertEquals("pods", gone.value());
        assertEquals(IpamError.UNKNOWN_POOL, refused(ipam.leases("pods")).error());
        // Its addresses are free: a pool over the same CIDR under another name may be created.
        await(ipam.createPool(pool("again", "10.1.0.0/24")));
    }

    @Test
    void deletingAPoolThatDoesNotExistNamesIt() throws Exception {
        Ipam ipam = ipam();
        IpamException unknown = refused(ipam.deletePool("nosuch", true));
        assertEquals(IpamError.UNKNOWN_POOL, unknown.error());
        assertEquals("pool", unknown.field());
        assertEquals("nosuch", unknown.value());
        assertTrue(unknown.getMessage().contains("nosuch"), unknown.getMessage());
    }

    @Test
    void aPoolCreatedAgainUnderTheSameNameStartsEmptyAlsoAfterARestart() throws Exception {
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        Owner web0 = Owner.of(ipam.cluster(), "shop", OwnerKind.STATEFUL_POD, "web-0", "w1");
        for (int i = 0; i < 5; i++) {
            await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "old" + i))));
        }
        await(ipam.allocate("pods", AllocationRequest.any(web0)));
        await(ipam.release("pods", web0));
        await(ipam.deletePool("pods", true));
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        assertEquals(List.of(), await(ipam.leases("pods")));
        Lease fresh = await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "new"))));
        assertEquals(List.of(ip("10.1.0.1")), fresh.ips(), "the first address is free again");
        Lease web = await(ipam.allocate("pods", AllocationRequest.any(web0.withUid("w2"))));
        assertEquals(List.of(ip("10.1.0.2")), web.ips(), "the deleted pool's parked fixed IP was dropped with it");

        JournalSystems.stop(system);
        system = JournalSystems.start("ipam", journal());
        Ipam again = JournalSystems.ready(Ipam.start(system, ipam.cluster(),
                SegmentGuard.within(List.of(Cidr.parse("segment", "10.0.0.0/8"))), liveness, SETTINGS, Clock.systemUTC()));
        assertEquals(List.of(pool("pods", "10.1.0.0/24")), await(again.pools()));
        List<Lease> expected = new ArrayList<>(List.of(fresh, web));
        expected.sort(java.util.Comparator.comparing(l -> l.owner().identity()));
        assertEquals(expected, leasesOf(again, "pods"), "recovery brings back the new pool's leases, none of the old");
        assertEquals(List.of(ip("10.1.0.3")), await(again.allocate("pods", AllocationRequest.any(pod(again, "next")))).ips());

        // And the second incarnation is deleted and created again just the same.
        assertEquals(new PoolDeletion("pods", 3, 0, 0), await(again.deletePool("pods", true)));
        await(again.createPool(pool("pods", "10.1.0.0/24")));
        assertEquals(List.of(), await(again.leases("pods")));
    }

    @Test
    void aPoolWhoseJournalEndedLeavesTheDirectoryByItself() throws Exception {
        // What a crash between the two writes of a delete leaves: the pool ended in its journal, still in the directory.
        Ipam ipam = ipam();
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        await(ipam.allocate("pods", AllocationRequest.any(pod(ipam, "a"))));
        var entity = org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding.get(system).entityRefFor(
                io.isthmus.ipam.pool.PoolEntity.ENTITY_TYPE_KEY,
                io.isthmus.ipam.pool.PoolEntity.entityId(ipam.cluster(), "pods"));
        Object reply = await(entity.<io.isthmus.ipam.pool.PoolProtocol.Reply>ask(
                r -> new io.isthmus.ipam.pool.PoolProtocol.Retire(true, r), Duration.ofSeconds(10)));
        assertInstanceOf(io.isthmus.ipam.pool.PoolProtocol.Retired.class, reply);
        eventually("the ended pool leaves the directory", () -> {
            try {
                return await(ipam.pools()).isEmpty();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await(ipam.createPool(pool("pods", "10.1.0.0/24")));
        assertEquals(List.of(), await(ipam.leases("pods")));
    }
}
