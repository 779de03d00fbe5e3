package io.isthmus.ipam.pool;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ipam.AddressRange;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.api.ipam.ReleaseOutcome;
import io.isthmus.api.ipam.Reservation;
import io.isthmus.api.ipam.Route;
import io.isthmus.ipam.pool.PoolProtocol.Reply;
import io.isthmus.ipam.pool.PoolProtocol.Request;
import io.isthmus.testing.SettableClock;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The event-sourced pool, one batch at a time; the testkit also checks that commands, events and state serialize. */
class PoolLedgerTest {
    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    static final ClusterId EAST = ClusterId.of("east");
    private static final AtomicInteger IDS = new AtomicInteger();
    private static ActorTestKit testKit;

    private final SettableClock clock = new SettableClock(T0);
    private EventSourcedBehaviorTestKit<PoolLedger.Command, PoolEvent, PoolState> ledger;

    @BeforeAll
    static void startSystem() {
        testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config());
    }

    @AfterAll
    static void stopSystem() {
        testKit.shutdownTestKit();
    }

    static InetAddress ip(String text) {
        return IpLiteral.parse("ip", text);
    }

    static Owner pod(String name) {
        return Owner.of(EAST, "shop", OwnerKind.POD, name, name + "-uid");
    }

    static Owner statefulPod(String name, String uid) {
        return Owner.of(EAST, "shop", OwnerKind.STATEFUL_POD, name, uid);
    }

    private void start(PoolSpec spec) {
        start(spec, Duration.ZERO);
    }

    private void start(PoolSpec spec, Duration reuseDelay) {
        ledger = EventSourcedBehaviorTestKit.create(testKit.system(),
                PoolLedger.create(PersistenceId.of("IpamPool", "east.p" + IDS.incrementAndGet()), spec,
                        Duration.ofSeconds(30), 1000, reuseDelay));
    }

    private static PoolSpec v4(String cidr) {
        return PoolSpec.of("pods", Cidr.parse("cidr", cidr));
    }

    /** Runs one request in a batch of its own; returns its reply (sent after the write) and the batch's result. */
    private Reply run(Function<ActorRef<Reply>, Request> request) {
        TestProbe<Reply> probe = testKit.createTestProbe(Reply.class);
        ledger.<PoolLedger.BatchApplied>runCommand(replyTo ->
                new PoolLedger.ApplyBatch(List.of(request.apply(probe.ref())), clock.instant(), replyTo));
        return probe.receiveMessage(Duration.ofSeconds(3));
    }

    private Lease allocate(AllocationRequest request) {
        Reply reply = run(r -> new PoolProtocol.Allocate(request, r));
        return assertInstanceOf(PoolProtocol.LeaseGranted.class, reply, reply.toString()).lease();
    }

    private PoolProtocol.Failed refused(Function<ActorRef<Reply>, Request> request) {
        PoolState before = ledger.getState();
        Reply reply = run(request);
        assertEquals(before, ledger.getState(), "a refused request leaves the state as it was");
        return assertInstanceOf(PoolProtocol.Failed.class, reply, reply.toString());
    }

    private Reservation reserve(AllocationRequest request) {
        Reply reply = run(r -> new PoolProtocol.Reserve(request, "", r));
        return assertInstanceOf(PoolProtocol.ReservationMade.class, reply, reply.toString()).reservation();
    }

    /** Reserve then commit, as the CNI ADD of {@code container} does. */
    private Lease leaseFor(AllocationRequest request, String container) {
        Reply reserved = run(r -> new PoolProtocol.Reserve(request, container, r));
        String id = assertInstanceOf(PoolProtocol.ReservationMade.class, reserved, reserved.toString()).reservation()
                .reservationId();
        Reply granted = run(r -> new PoolProtocol.Commit(id, r));
        return assertInstanceOf(PoolProtocol.LeaseGranted.class, granted, granted.toString()).lease();
    }

    private PoolProtocol.ReleaseDone release(Owner owner, ReleaseMode mode) {
        Reply reply = run(r -> new PoolProtocol.Release(owner, mode, "", r));
        return assertInstanceOf(PoolProtocol.ReleaseDone.class, reply, reply.toString());
    }

    @Test
    void allocationTakesTheLowestFreeAddressSkippingGatewayAndComesWithNetworkAndGateway() {
        start(v4("10.8.0.0/24").withGateways(List.of(ip("10.8.0.1"))));
        Lease lease = allocate(AllocationRequest.any(pod("a")));
        assertEquals(List.of(ip("10.8.0.2")), lease.ips());
        assertEquals("10.8.0.2/24", lease.addresses().getFirst().withPrefix());
        assertEquals(Optional.of(ip("10.8.0.1")), lease.addresses().getFirst().gateway());
        assertEquals(LeaseState.ACTIVE, lease.state());
        assertEquals(T0, lease.since());
        assertEquals(List.of(ip("10.8.0.3")), allocate(AllocationRequest.any(pod("b"))).ips());
    }

    @Test
    void dualStackPoolGivesEveryOwnerOneAddressOfEachFamily() {
        start(PoolSpec.of("pods", Cidr.parse("c", "fd00:8::/64"), Cidr.parse("c", "10.8.0.0/24")));
        Lease lease = allocate(AllocationRequest.any(pod("a")));
        assertEquals(List.of(ip("10.8.0.1"), ip("fd00:8::1")), lease.ips());
        assertEquals("fd00:8::1/64", lease.addresses().get(1).withPrefix());
    }

    @Test
    void exhaustedPoolRefusesAndRecordsNothing() {
        start(v4("10.8.0.0/30")); // .1 and .2
        allocate(AllocationRequest.any(pod("a")));
        allocate(AllocationRequest.any(pod("b")));
        PoolProtocol.Failed failed = refused(r -> new PoolProtocol.Allocate(AllocationRequest.any(pod("c")), r));
        assertEquals(IpamError.POOL_EXHAUSTED, failed.error());
        assertTrue(failed.message().contains("pods"), failed.message());
    }

    @Test
    void dualStackAllocationIsAllOrNothingWhenOneFamilyIsExhausted() {
        start(PoolSpec.of("pods", Cidr.parse("c", "10.8.0.0/30"), Cidr.parse("c", "fd00:8::/120")));
        allocate(AllocationRequest.any(pod("a")));
        allocate(AllocationRequest.any(pod("b")));
        assertEquals(IpamError.POOL_EXHAUSTED,
                refused(r -> new PoolProtocol.Allocate(AllocationRequest.any(pod("c")), r)).error());
        assertEquals(2, ledger.getState().used(false).size(), "no IPv6 address was taken for the refused owner");
    }

    @Test
    void repeatedAllocationForTheSameOwnerReturnsTheSameLeaseWithoutAnEvent() {
        start(v4("10.8.0.0/24"));
        Lease first = allocate(AllocationRequest.any(pod("a")));
        TestProbe<Reply> probe = testKit.createTestProbe(Reply.class);
        var result = ledger.<PoolLedger.BatchApplied>runCommand(replyTo -> new PoolLedger.ApplyBatch(
                List.of(new PoolProtocol.Allocate(AllocationRequest.any(pod("a")), probe.ref())), T0, replyTo));
        assertTrue(result.hasNoEvents());
        assertEquals(first, ((PoolProtocol.LeaseGranted) probe.receiveMessage()).lease());
    }

    @Test
    void aStatefulPodKeepsItsAddressAcrossRestartsAndNobodyElseGetsIt() {
        start(v4("10.8.0.0/24"));
        Lease web0 = allocate(AllocationRequest.any(statefulPod("web-0", "uid-1")));
        assertEquals(ReleaseOutcome.KEPT_FOR_IDENTITY,
                release(statefulPod("web-0", "uid-1"), ReleaseMode.KEEP_FIXED).result().outcome());
        assertEquals(LeaseState.PARKED, ledger.getState().leases().getFirst().state());
        Lease other = allocate(AllocationRequest.any(pod("x")));
        assertNotEquals(web0.ips(), other.ips());
        Lease again = allocate(AllocationRequest.any(statefulPod("web-0", "uid-2")));
        assertEquals(web0.ips(), again.ips());
        assertEquals("uid-2", again.owner().uid());
        assertEquals(LeaseState.ACTIVE, again.state());
    }

    @Test
    void aPlainPodReleaseFreesTheAddressForTheNextOwner() {
        start(v4("10.8.0.0/24"));
        Lease a = allocate(AllocationRequest.any(pod("a")));
        assertEquals(ReleaseOutcome.FREED, release(pod("a"), ReleaseMode.KEEP_FIXED).result().outcome());
        assertEquals(a.ips(), allocate(AllocationRequest.any(pod("b"))).ips());
        assertEquals(ReleaseOutcome.NOT_HELD, release(pod("a"), ReleaseMode.KEEP_FIXED).result().outcome());
    }

    @Test
    void forgetFreesTheFixedAddressOfAStickyOwner() {
        start(v4("10.8.0.0/24"));
        Lease web0 = allocate(AllocationRequest.any(statefulPod("web-0", "uid-1")));
        assertEquals(ReleaseOutcome.FREED, release(statefulPod("web-0", ""), ReleaseMode.FORGET).result().outcome());
        assertEquals(web0.ips(), allocate(AllocationRequest.any(pod("b"))).ips());
    }

    @Test
    void aReleaseByAnotherIncarnationIsRefusedAsNotOwner() {
        start(v4("10.8.0.0/24"));
        allocate(AllocationRequest.any(statefulPod("web-0", "uid-2")));
        PoolProtocol.Failed failed = refused(r -> new PoolProtocol.Release(statefulPod("web-0", "uid-1"),
                ReleaseMode.KEEP_FIXED, "", r));
        assertEquals(IpamError.NOT_OWNER, failed.error());
        assertEquals("owner.uid", failed.field());
        assertEquals("uid-1", failed.value());
    }

    @Test
    void anExplicitStaticAddressIsGivenWhenFreeAndRefusedWhenHeldExcludedOrOutside() {
        start(v4("10.8.0.0/24").withExclude(List.of(AddressRange.parse("x", "10.8.0.100-10.8.0.110")))
                .withReserved(List.of(ip("10.8.0.50"))));
        assertEquals(List.of(ip("10.8.0.50")),
                allocate(AllocationRequest.exactly(statefulPod("db-0", "u"), ip("10.8.0.50"))).ips());
        assertEquals(List.of(ip("10.8.0.7")), allocate(AllocationRequest.exactly(pod("a"), ip("10.8.0.7"))).ips());

        PoolProtocol.Failed held = refused(r -> new PoolProtocol.Allocate(AllocationRequest.exactly(pod("b"), ip("10.8.0.7")), r));
        assertEquals(IpamError.ADDRESS_IN_USE, held.error());
        assertTrue(held.message().contains("east/shop/Pod/a"), held.message());
        PoolProtocol.Failed heldReserved = refused(r -> new PoolProtocol.Allocate(
                AllocationRequest.exactly(pod("b"), ip("10.8.0.50")), r));
        assertEquals(IpamError.ADDRESS_IN_USE, heldReserved.error());
        assertEquals(IpamError.ADDRESS_IN_USE, refused(r -> new PoolProtocol.Allocate(
                AllocationRequest.exactly(pod("b"), ip("10.8.0.105")), r)).error());
        assertEquals(IpamError.ADDRESS_IN_USE, refused(r -> new PoolProtocol.Allocate(
                AllocationRequest.exactly(pod("b"), ip("10.8.0.255")), r)).error());
        PoolProtocol.Failed outside = refused(r -> new PoolProtocol.Allocate(
                AllocationRequest.exactly(pod("b"), ip("10.9.0.1")), r));
        assertEquals(IpamError.INVALID_INPUT, outside.error());
        assertEquals("request.ip", outside.field());
        assertEquals("10.9.0.1", outside.value());
    }

    @Test
    void reservedAddressesAreNeverPickedAutomaticallyAndFreeAgainAsReserved() {
        start(v4("10.8.0.0/29").withReserved(List.of(ip("10.8.0.1"), ip("10.8.0.2"))));
        assertEquals(List.of(ip("10.8.0.3")), allocate(AllocationRequest.any(pod("a"))).ips());
        Lease fixed = allocate(AllocationRequest.exactly(pod("s"), ip("10.8.0.1")));
        release(fixed.owner(), ReleaseMode.KEEP_FIXED);
        assertEquals(List.of(ip("10.8.0.4")), allocate(AllocationRequest.any(pod("b"))).ips());
    }

    @Test
    void aRequestLimitedToARangeGetsAnAddressInsideItOrExhausted() {
        start(v4("10.8.0.0/24"));
        assertEquals(List.of(ip("10.8.0.64")),
                allocate(AllocationRequest.within(pod("a"), Cidr.parse("r", "10.8.0.64/30"))).ips());
        allocate(AllocationRequest.within(pod("b"), Cidr.parse("r", "10.8.0.64/30")));
        allocate(AllocationRequest.within(pod("c"), Cidr.parse("r", "10.8.0.64/30")));
        allocate(AllocationRequest.within(pod("d"), Cidr.parse("r", "10.8.0.64/30")));
        assertEquals(IpamError.POOL_EXHAUSTED, refused(r -> new PoolProtocol.Allocate(
                AllocationRequest.within(pod("e"), Cidr.parse("r", "10.8.0.64/30")), r)).error());
        PoolProtocol.Failed outside = refused(r -> new PoolProtocol.Allocate(
                AllocationRequest.within(pod("e"), Cidr.parse("r", "10.9.0.0/24")), r));
        assertEquals("request.range", outside.field());
    }

    @Test
    void aCommittedReservationBecomesAnActiveLease() {
        start(v4("10.8.0.0/24").withRoutes(List.of(Route.parse("r", "0.0.0.0/0 via 10.8.0.254"))));
        Reservation reservation = reserve(AllocationRequest.any(pod("a")));
        assertEquals(T0.plusSeconds(30), reservation.expiresAt());
        assertEquals(1, reservation.routes().size());
        assertEquals(LeaseState.RESERVED, ledger.getState().leases().getFirst().state());
        clock.set(T0.plusSeconds(5));
        Reply reply = run(r -> new PoolProtocol.Commit(reservation.reservationId(), r));
        Lease lease = assertInstanceOf(PoolProtocol.LeaseGranted.class, reply).lease();
        assertEquals(reservation.ips(), lease.ips());
        assertEquals(LeaseState.ACTIVE, lease.state());
        assertEquals(IpamError.UNKNOWN_RESERVATION,
                refused(r -> new PoolProtocol.Commit(reservation.reservationId(), r)).error());
    }

    @Test
    void aFreedAddressGoesToAnotherOwnerOnlyAfterTheReuseDelay() {
        start(v4("10.8.0.0/24"), Duration.ofSeconds(30));
        Lease a = allocate(AllocationRequest.any(pod("a")));
        assertEquals(PoolProtocol.ReleaseDone.class, release(pod("a"), ReleaseMode.KEEP_FIXED).getClass());
        clock.set(T0.plusSeconds(29));
        assertEquals(List.of(ip("10.8.0.2")), allocate(AllocationRequest.any(pod("b"))).ips(), "a's address still cools");
        clock.set(T0.plusSeconds(30));
        assertEquals(a.ips(), allocate(AllocationRequest.any(pod("c"))).ips(), "30 s after the release it is free again");
        // The cooling survives a restart (it is part of the state and of the snapshot form).
        assertEquals(ledger.getState(), PoolState.fromSnapshot(ledger.getState().snapshot()));
    }

    @Test
    void whenOnlyCoolingAddressesAreFreeTheOneFreedLongestAgoIsGiven() {
        start(v4("10.8.0.0/29"), Duration.ofSeconds(30)); // 10.8.0.1 .. 10.8.0.6
        for (String name : List.of("a", "b", "c", "d", "e", "f")) {
            allocate(AllocationRequest.any(pod(name)));
        }
        release(pod("c"), ReleaseMode.KEEP_FIXED);
        clock.set(T0.plusSeconds(1));
        release(pod("a"), ReleaseMode.KEEP_FIXED);
        clock.set(T0.plusSeconds(2));
        assertEquals(List.of(ip("10.8.0.3")), allocate(AllocationRequest.any(pod("g"))).ips(), "c's, freed first");
        assertEquals(List.of(ip("10.8.0.1")), allocate(AllocationRequest.any(pod("h"))).ips());
        assertEquals(IpamError.POOL_EXHAUSTED, refused(r -> new PoolProtocol.Allocate(AllocationRequest.any(pod("i")), r)).error());
    }

    @Test
    void anAddressQueryNamesItsHolderOrNone() {
        start(v4("10.8.0.0/24"));
        Lease a = allocate(AllocationRequest.any(pod("a")));
        Reply held = run(r -> new PoolProtocol.GetHolder(a.ips().getFirst(), r));
        assertEquals(List.of(a), assertInstanceOf(PoolProtocol.HolderFound.class, held).lease());
        Reply free = run(r -> new PoolProtocol.GetHolder(ip("10.8.0.77"), r));
        assertEquals(List.of(), assertInstanceOf(PoolProtocol.HolderFound.class, free).lease());
        PoolProtocol.Failed outside = refused(r -> new PoolProtocol.GetHolder(ip("10.9.0.1"), r));
        assertEquals(IpamError.INVALID_INPUT, outside.error());
        assertEquals("address", outside.field());
    }

    @Test
    void aRepeatedReserveGetsTheOpenReservationAndWritesNothing() {
        start(v4("10.8.0.0/24"));
        Reservation first = reserve(AllocationRequest.any(pod("a")));
        clock.set(T0.plusSeconds(5));
        TestProbe<Reply> probe = testKit.createTestProbe(Reply.class);
        var again = ledger.<PoolLedger.BatchApplied>runCommand(replyTo -> new PoolLedger.ApplyBatch(
                List.of(new PoolProtocol.Reserve(AllocationRequest.any(pod("a")), "", probe.ref())), clock.instant(), replyTo));
        assertTrue(again.events().isEmpty(), again.events().toString());
        assertEquals(first, assertInstanceOf(PoolProtocol.ReservationMade.class, probe.receiveMessage()).reservation());
        // So the id the caller got first still commits.
        Reply reply = run(r -> new PoolProtocol.Commit(first.reservationId(), r));
        assertEquals(first.ips(), assertInstanceOf(PoolProtocol.LeaseGranted.class, reply).lease().ips());
    }

    @Test
    void anUncommittedReservationExpiresAndItsAddressGoesBack() {
        start(v4("10.8.0.0/24"));
        Reservation reservation = reserve(AllocationRequest.any(pod("a")));
        clock.set(T0.plusSeconds(29));
        Reply none = run(PoolProtocol.ExpireReservations::new);
        assertEquals(new PoolProtocol.ExpiredCount(0), none);
        clock.set(T0.plusSeconds(30));
        TestProbe<Reply> probe = testKit.createTestProbe(Reply.class);
        var result = ledger.<PoolLedger.BatchApplied>runCommand(replyTo -> new PoolLedger.ApplyBatch(
                List.of(new PoolProtocol.ExpireReservations(probe.ref())), clock.instant(), replyTo));
        assertEquals(List.of(new PoolEvent.ReservationExpired(pod("a").identity(), reservation.reservationId(),
                T0.plusSeconds(30))), result.events());
        assertTrue(ledger.getState().leases().isEmpty());
        assertEquals(reservation.ips(), allocate(AllocationRequest.any(pod("b"))).ips());
    }

    @Test
    void aCommitAfterTheDeadlineExpiresTheReservationInsteadOfCommittingIt() {
        start(v4("10.8.0.0/24"));
        Reservation reservation = reserve(AllocationRequest.any(pod("a")));
        clock.set(T0.plusSeconds(31));
        Reply reply = run(r -> new PoolProtocol.Commit(reservation.reservationId(), r));
        assertEquals(IpamError.UNKNOWN_RESERVATION, assertInstanceOf(PoolProtocol.Failed.class, reply).error());
        assertTrue(ledger.getState().leases().isEmpty());
    }

    @Test
    void anExpiredReservationOfAFixedAddressGoesBackToParkedNotToThePool() {
        start(v4("10.8.0.0/24"));
        Lease web0 = allocate(AllocationRequest.any(statefulPod("web-0", "uid-1")));
        release(web0.owner(), ReleaseMode.KEEP_FIXED);
        Reservation again = reserve(AllocationRequest.any(statefulPod("web-0", "uid-2")));
        assertEquals(web0.ips(), again.ips());
        clock.set(T0.plusSeconds(60));
        run(PoolProtocol.ExpireReservations::new);
        assertEquals(LeaseState.PARKED, ledger.getState().leases().getFirst().state());
        assertNotEquals(web0.ips(), allocate(AllocationRequest.any(pod("b"))).ips());
    }

    @Test
    void oneBatchIsOneWriteAndLaterRequestsSeeEarlierOnes() {
        start(v4("10.8.0.0/24"));
        TestProbe<Reply> probe = testKit.createTestProbe(Reply.class);
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            requests.add(new PoolProtocol.Allocate(AllocationRequest.any(pod("p" + i)), probe.ref()));
        }
        requests.add(new PoolProtocol.Release(pod("p0"), ReleaseMode.KEEP_FIXED, "", probe.ref()));
        requests.add(new PoolProtocol.Allocate(AllocationRequest.any(pod("p5")), probe.ref()));
        var result = ledger.<PoolLedger.BatchApplied>runCommand(replyTo -> new PoolLedger.ApplyBatch(requests, T0, replyTo));
        assertEquals(1, result.events().size(), "one journal entry for the whole batch");
        assertEquals(7, assertInstanceOf(PoolEvent.Batch.class, result.events().getFirst()).changes().size());
        assertEquals(new PoolLedger.BatchApplied(7, 7), result.reply());
        List<InetAddress> given = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            Reply reply = probe.receiveMessage();
            if (reply instanceof PoolProtocol.LeaseGranted(Lease lease)) {
                given.addAll(lease.ips());
            }
        }
        assertEquals(List.of(ip("10.8.0.1"), ip("10.8.0.2"), ip("10.8.0.3"), ip("10.8.0.4"), ip("10.8.0.5"),
                ip("10.8.0.1")), given, "p5 got the address p0 released earlier in the same batch");
    }

    @Test
    void aReclaimOrderForALeaseThatChangedSinceTheSurveyIsSkipped() {
        start(v4("10.8.0.0/24"));
        Lease a = allocate(AllocationRequest.any(pod("a")));
        Reply stale = run(r -> new PoolProtocol.Reclaim(List.of(new PoolProtocol.ReclaimOrder(a.owner().identity(),
                a.owner().uid(), T0.minusSeconds(1))), "test", r));
        assertEquals(new PoolProtocol.ReclaimList(List.of()), stale);
        clock.set(T0.plusSeconds(40));
        Reply done = run(r -> new PoolProtocol.Reclaim(List.of(new PoolProtocol.ReclaimOrder(a.owner().identity(),
                a.owner().uid(), a.since())), "owner gone", r));
        var records = assertInstanceOf(PoolProtocol.ReclaimList.class, done).reclaims();
        assertEquals(1, records.size());
        assertEquals(a.ips(), records.getFirst().addresses());
        assertEquals(T0.plusSeconds(40), records.getFirst().at());
        assertEquals(1, ledger.getState().reclaimed());
        assertEquals(records, ledger.getState().recentReclaims());
        assertTrue(ledger.getState().leases().isEmpty());
    }

    @Test
    void anIpv6Slash64PoolAllocatesAndRefusesStaticAddressesBeyondItsWindow() {
        start(PoolSpec.of("v6", Cidr.parse("c", "fd00:8::/64")));
        assertEquals(List.of(ip("fd00:8::1")), allocate(AllocationRequest.any(pod("a"))).ips());
        assertEquals(List.of(ip("fd00:8::1:0:0:5")), allocate(AllocationRequest.exactly(pod("b"), ip("fd00:8::1:0:0:5"))).ips());
        assertEquals(IpamError.ADDRESS_IN_USE, refused(r -> new PoolProtocol.Allocate(
                AllocationRequest.exactly(pod("c"), ip("fd00:8::ffff:ffff:ffff:fff0")), r)).error());
        assertEquals(List.of(ip("fd00:8::2")), allocate(AllocationRequest.any(pod("d"))).ips());
    }

    @Test
    void stateSurvivesARestartFromItsEvents() {
        start(v4("10.8.0.0/24"));
        allocate(AllocationRequest.any(pod("a")));
        allocate(AllocationRequest.any(statefulPod("web-0", "u1")));
        release(statefulPod("web-0", "u1"), ReleaseMode.KEEP_FIXED);
        reserve(AllocationRequest.any(pod("c")));
        PoolState before = ledger.getState();
        ledger.restart();
        assertEquals(before, ledger.getState());
    }

    @Test
    void stateSurvivesItsSnapshotForm() {
        start(v4("10.8.0.0/24").withReserved(List.of(ip("10.8.0.9"))));
        allocate(AllocationRequest.any(pod("a")));
        allocate(AllocationRequest.exactly(pod("s"), ip("10.8.0.9")));
        reserve(AllocationRequest.any(statefulPod("web-0", "u1")));
        PoolState state = ledger.getState();
        assertEquals(state, PoolState.fromSnapshot(state.snapshot()));
    }

    @Test
    void aLeaseIsBoundToTheContainerThatReservedItAndOnlyThatContainerReleasesIt() {
        start(v4("10.8.0.0/24"));
        Lease lease = leaseFor(AllocationRequest.any(pod("a")), "c0ffee01");
        assertEquals("c0ffee01", lease.attachment());
        PoolProtocol.Failed failed = refused(r -> new PoolProtocol.Release(pod("a"), ReleaseMode.KEEP_FIXED,
                "deadbeef", r));
        assertEquals(IpamError.NOT_OWNER, failed.error());
        assertEquals("attachment", failed.field());
        assertEquals("deadbeef", failed.value());
        assertEquals(List.of(lease.ips()), ledger.getState().leases().stream().map(Lease::ips).toList(),
                "the lease stays with its container");
        Reply done = run(r -> new PoolProtocol.Release(pod("a"), ReleaseMode.KEEP_FIXED, "c0ffee01", r));
        assertEquals(ReleaseOutcome.FREED, assertInstanceOf(PoolProtocol.ReleaseDone.class, done).result().outcome());
        assertTrue(ledger.getState().leases().isEmpty());
    }

    @Test
    void anotherContainerOfTheSameIncarnationCannotTakeOverALeaseButANewIncarnationCan() {
        start(v4("10.8.0.0/24"));
        Lease lease = leaseFor(AllocationRequest.any(statefulPod("web-0", "uid-1")), "c0ffee01");
        PoolProtocol.Failed failed = refused(r -> new PoolProtocol.Reserve(
                AllocationRequest.any(statefulPod("web-0", "uid-1")), "deadbeef", r));
        assertEquals(IpamError.NOT_OWNER, failed.error());
        assertEquals("attachment", failed.field());
        // the lease listing names the container it is bound to
        assertEquals("c0ffee01", ledger.getState().leases().getFirst().attachment());
        Lease next = leaseFor(AllocationRequest.any(statefulPod("web-0", "uid-2")), "deadbeef");
        assertEquals(lease.ips(), next.ips(), "the next incarnation gets the fixed address");
        assertEquals("deadbeef", next.attachment());
        assertEquals(IpamError.NOT_OWNER, refused(r -> new PoolProtocol.Release(statefulPod("web-0", ""),
                ReleaseMode.KEEP_FIXED, "c0ffee01", r)).error(), "the old container's late DEL frees nothing");
    }

    @Test
    void aReservationByANewIncarnationThatExpiresGivesTheLeaseBackToItsContainer() {
        start(v4("10.8.0.0/24"));
        leaseFor(AllocationRequest.any(statefulPod("web-0", "uid-1")), "c0ffee01");
        run(r -> new PoolProtocol.Reserve(AllocationRequest.any(statefulPod("web-0", "uid-2")), "deadbeef", r));
        clock.set(T0.plusSeconds(60));
        run(PoolProtocol.ExpireReservations::new);
        Lease back = ledger.getState().leases().getFirst();
        assertEquals(LeaseState.ACTIVE, back.state());
        assertEquals("c0ffee01", back.attachment());
    }

    @Test
    void theContainerBindingSurvivesARestartAndTheSnapshotForm() {
        start(v4("10.8.0.0/24"));
        leaseFor(AllocationRequest.any(pod("a")), "c0ffee01");
        run(r -> new PoolProtocol.Reserve(AllocationRequest.any(pod("b")), "c0ffee02", r));
        PoolState state = ledger.getState();
        assertEquals(state, PoolState.fromSnapshot(state.snapshot()));
        assertEquals(List.of("c0ffee01", "c0ffee02"), PoolState.fromSnapshot(state.snapshot()).leases().stream()
                .map(Lease::attachment).toList());
        ledger.restart();
        assertEquals(state, ledger.getState());
    }
}
