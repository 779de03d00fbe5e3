package io.isthmus.ipam.cni;

import io.isthmus.api.Cidr;
import io.isthmus.ipam.cni.CniBackend.Addressing;
import io.isthmus.ipam.cni.CniBackend.AssignedIp;
import io.isthmus.ipam.cni.CniBackend.Attachment;
import io.isthmus.ipam.cni.CniBackend.PodIdentity;
import io.isthmus.ipam.cni.CniBackend.Route;

import java.math.BigInteger;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;

/**
 * TEST DOUBLE of the pool side of {@link CniBackend}: a real allocator, in memory and not durable, so the CNI
 * endpoint and the plugins can be exercised without the sharded pool entities. One IPv4 pool per name; addresses are
 * handed out round robin (like host-local), so an owner that gets its old address back got it because it is
 * fixed, not because it was the lowest free one. A pod identity (namespace/name, e.g. a StatefulSet pod) keeps its
 * address across DEL and a new ADD. Reservations expire after {@code reservationTtl}.
 *
 * <p>{@link #failWith} makes every call fail (to test error mapping); {@link #commits()} and friends let tests see
 * what the endpoint asked.
 */
final class InMemoryCniBackend implements CniBackend {

    /** The pool's settings: addresses come from {@code subnet} minus network, broadcast and gateway. */
    record PoolSpec(String name, Cidr subnet, InetAddress gateway, List<Route> routes) {
    }

    private record Held(String pool, InetAddress address, Attachment attachment, Optional<PodIdentity> pod,
                        boolean committed, Instant expires, String reservationId) {
    }

    private final Map<String, PoolSpec> pools = new HashMap<>();
    private final Map<String, Long> cursors = new HashMap<>();
    private final List<Held> held = new ArrayList<>();
    private final Map<String, InetAddress> fixedByPod = new HashMap<>();
    private final Clock clock;
    private final Duration reservationTtl;
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private int commits;
    private int reserves;

    InMemoryCniBackend(Clock clock, Duration reservationTtl, PoolSpec... specs) {
        this.clock = clock;
        this.reservationTtl = reservationTtl;
        for (PoolSpec spec : specs) {
            pools.put(spec.name(), spec);
            cursors.put(spec.name(), 0L);
        }
    }

    /** From now on every call fails with {@code failure} (null: calls work again). */
    void failWith(RuntimeException failure) {
        this.failure.set(failure);
    }

    /** From now on every call stays unanswered (as when a shard is moving), until {@link #failWith}(null). */
    void stall() {
        this.failure.set(STALLED);
    }

    private static final RuntimeException STALLED = new RuntimeException("stalled");

    synchronized int commits() {
        return commits;
    }

    synchronized int reserves() {
        return reserves;
    }

    /** Addresses held (leased or reserved and not expired) in {@code pool}. */
    synchronized List<InetAddress> held(String pool) {
        expire();
        return held.stream().filter(h -> h.pool().equals(pool)).map(Held::address).toList();
    }

    synchronized Optional<Boolean> committed(Attachment attachment) {
        expire();
        return held.stream().filter(h -> h.attachment().equals(attachment)).map(Held::committed).findFirst();
    }

    @Override
    public synchronized CompletionStage<Reservation> reserve(ReserveRequest request) {
        return call(() -> {
            reserves++;
            expire();
            PoolSpec pool = pool(request.pool());
            Optional<Held> existing = find(request.pool(), request.attachment());
            if (existing.isPresent()) {
                return reservation(pool, existing.get());
            }
            InetAddress address = choose(pool, request);
            Held reserved = new Held(pool.name(), address, request.attachment(), request.pod(), false,
                    clock.instant().plus(reservationTtl), UUID.randomUUID().toString());
            held.add(reserved);
            request.pod().ifPresent(pod -> fixedByPod.put(podKey(pool.name(), pod), address));
            return reservation(pool, reserved);
        });
    }

    @Override
    public synchronized CompletionStage<Lease> commit(Reservation reservation) {
        return call(() -> {
            expire();
            PoolSpec pool = pool(reservation.pool());
            for (int i = 0; i < held.size(); i++) {
                Held h = held.get(i);
                if (h.reservationId().equals(reservation.id())) {
                    Held lease = new Held(h.pool(), h.address(), h.attachment(), h.pod(), true, Instant.MAX, h.reservationId());
                    held.set(i, lease);
                    commits++;
                    return new Lease(pool.name(), h.attachment(), addressing(pool, h.address()));
                }
            }
            throw new CniBackendException(CniBackendError.RESERVATION_EXPIRED,
                    "reservation " + reservation.id() + " expired before it was committed");
        });
    }

    @Override
    public synchronized CompletionStage<Void> release(ReleaseRequest request) {
        return call(() -> {
            pool(request.pool());
            Optional<Held> existing = find(request.pool(), request.attachment());
            if (existing.isPresent() && request.pod().isPresent() && existing.get().pod().isPresent()
                    && !existing.get().pod().equals(request.pod())) {
                throw new CniBackendException(CniBackendError.NOT_OWNER, request.attachment() + " is held by "
                        + existing.get().pod().get() + ", not " + request.pod().get());
            }
            existing.ifPresent(held::remove);
            return null;
        });
    }

    /** One node, and one network per pool in the tests that use it: every committed lease not listed is freed. */
    @Override
    public synchronized CompletionStage<GcResult> gc(GcRequest request) {
        return call(() -> {
            pool(request.pool());
            List<Held> stale = held.stream().filter(h -> h.pool().equals(request.pool()) && h.committed()
                    && !request.valid().contains(h.attachment())).toList();
            held.removeAll(stale);
            return new GcResult(stale.stream().map(Held::attachment).toList());
        });
    }

    @Override
    public synchronized CompletionStage<Optional<Lease>> check(CheckRequest request) {
        return call(() -> {
            expire();
            PoolSpec pool = pool(request.pool());
            return find(request.pool(), request.attachment()).filter(Held::committed)
                    .map(h -> new Lease(pool.name(), h.attachment(), addressing(pool, h.address())));
        });
    }

    private interface Body<T> {
        T run();
    }

    private <T> CompletionStage<T> call(Body<T> body) {
        RuntimeException failing = failure.get();
        if (failing == STALLED) {
            return new CompletableFuture<>();
        }
        if (failing != null) {
            return CompletableFuture.failedFuture(failing);
        }
        try {
            return CompletableFuture.completedFuture(body.run());
        } catch (CniBackendException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private PoolSpec pool(String name) {
        PoolSpec pool = pools.get(name);
        if (pool == null) {
            throw new CniBackendException(CniBackendError.UNKNOWN_POOL, "no pool named " + name + " (pools: "
                    + pools.keySet() + ")");
        }
        return pool;
    }

    private InetAddress choose(PoolSpec pool, ReserveRequest request) {
        if (!request.requestedIps().isEmpty()) {
            InetAddress wanted = request.requestedIps().getFirst();
            if (!usable(pool, wanted)) {
                throw new CniBackendException(CniBackendError.BAD_REQUEST, wanted.getHostAddress()
                        + " is not an assignable address of pool " + pool.name() + " (" + pool.subnet() + ")");
            }
            if (taken(pool.name(), wanted)) {
                throw new CniBackendException(CniBackendError.ADDRESS_IN_USE, wanted.getHostAddress()
                        + " is already held in pool " + pool.name());
            }
            return wanted;
        }
        if (request.pod().isPresent()) {
            InetAddress fixed = fixedByPod.get(podKey(pool.name(), request.pod().get()));
            if (fixed != null && !taken(pool.name(), fixed)) {
                return fixed;
            }
        }
        long size = pool.subnet().size().longValueExact();
        long cursor = cursors.get(pool.name());
        for (long step = 1; step <= size; step++) {
            long index = (cursor + step) % size;
            InetAddress candidate = pool.subnet().addressAt(index);
            if (usable(pool, candidate) && !taken(pool.name(), candidate) && !fixedByPod.containsValue(candidate)) {
                cursors.put(pool.name(), index);
                return candidate;
            }
        }
        throw new CniBackendException(CniBackendError.POOL_EXHAUSTED, "pool " + pool.name() + " ("
                + pool.subnet() + ") has no free address");
    }

    private static boolean usable(PoolSpec pool, InetAddress address) {
        if (!pool.subnet().contains(address) || address.equals(pool.gateway())) {
            return false;
        }
        BigInteger index = pool.subnet().indexOf(address);
        return index.signum() > 0 && index.compareTo(pool.subnet().size().subtract(BigInteger.ONE)) < 0;
    }

    private boolean taken(String pool, InetAddress address) {
        return held.stream().anyMatch(h -> h.pool().equals(pool) && h.address().equals(address));
    }

    private Optional<Held> find(String pool, Attachment attachment) {
        return held.stream().filter(h -> h.pool().equals(pool) && h.attachment().equals(attachment)).findFirst();
    }

    private void expire() {
        Instant now = clock.instant();
        held.removeIf(h -> !h.committed() && h.expires().isBefore(now));
    }

    private static Reservation reservation(PoolSpec pool, Held h) {
        return new Reservation(pool.name(), h.reservationId(), h.attachment(), addressing(pool, h.address()));
    }

    private static Addressing addressing(PoolSpec pool, InetAddress address) {
        return new Addressing(List.of(new AssignedIp(address, pool.subnet().prefix(), Optional.of(pool.gateway()))),
                pool.routes());
    }

    private static String podKey(String pool, PodIdentity pod) {
        return pool + "/" + pod.namespace() + "/" + pod.name();
    }
}
