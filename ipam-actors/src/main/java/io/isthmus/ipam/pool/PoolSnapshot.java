package io.isthmus.ipam.pool;

import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.ReclaimRecord;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The stored form of a {@link PoolState}: the spec and the holdings, column by column (one array per field instead
 * of one object per lease, so a /16 full of leases is a few flat arrays to write and read). Open reservations are
 * few and kept whole in {@code reserved}. The used-address sets are not stored; they are rebuilt from the holdings.
 * {@code cooling}: the recently freed addresses. {@code attachments}: the CNI container each settled holding is bound
 * to. (Snapshots of older releases lack both: the journal schema's upgrader fills them in, see IpamSchema.)
 */
public record PoolSnapshot(PoolSpec spec, List<String> clusters, List<String> namespaces, List<OwnerKind> kinds,
                           List<String> names, List<String> uids, long[] v4, long[] v6, List<LeaseState> states,
                           long[] sinceSeconds, int[] sinceNanos, List<Holding> reserved, long reservationSeq,
                           List<ReclaimRecord> recentReclaims, long reclaimed, List<Cooling.Freed> cooling,
                           List<String> attachments, Instant retiredAt) {

    static PoolSnapshot of(PoolSpec spec, List<Holding> holdings, long reservationSeq, List<ReclaimRecord> recentReclaims,
                           long reclaimed, List<Cooling.Freed> cooling) {
        List<Holding> settled = new ArrayList<>(holdings.size());
        List<Holding> reserved = new ArrayList<>();
        for (Holding h : holdings) {
            (h.state() == LeaseState.RESERVED ? reserved : settled).add(h);
        }
        int n = settled.size();
        List<String> clusters = new ArrayList<>(n);
        List<String> namespaces = new ArrayList<>(n);
        List<OwnerKind> kinds = new ArrayList<>(n);
        List<String> names = new ArrayList<>(n);
        List<String> uids = new ArrayList<>(n);
        List<LeaseState> states = new ArrayList<>(n);
        List<String> attachments = new ArrayList<>(n);
        long[] v4 = new long[n];
        long[] v6 = new long[n];
        long[] seconds = new long[n];
        int[] nanos = new int[n];
        for (int i = 0; i < n; i++) {
            Holding h = settled.get(i);
            clusters.add(h.owner().cluster().value());
            namespaces.add(h.owner().namespace());
            kinds.add(h.owner().kind());
            names.add(h.owner().name());
            uids.add(h.owner().uid());
            states.add(h.state());
            attachments.add(h.attachment());
            v4[i] = h.v4();
            v6[i] = h.v6();
            seconds[i] = h.since().getEpochSecond();
            nanos[i] = h.since().getNano();
        }
        return new PoolSnapshot(spec, clusters, namespaces, kinds, names, uids, v4, v6, states, seconds, nanos,
                List.copyOf(reserved), reservationSeq, List.copyOf(recentReclaims), reclaimed, List.copyOf(cooling),
                attachments, null);
    }

    /** {@code retiredAt}: when the pool was deleted (null while it lives, and in snapshots written before). */
    PoolSnapshot retired(Instant at) {
        return new PoolSnapshot(spec, clusters, namespaces, kinds, names, uids, v4, v6, states, sinceSeconds, sinceNanos,
                reserved, reservationSeq, recentReclaims, reclaimed, cooling, attachments, at);
    }

    /** Every holding, the settled ones first. */
    List<Holding> holdings() {
        List<Holding> list = new ArrayList<>(names.size() + reserved.size());
        ClusterId cluster = null;
        for (int i = 0; i < names.size(); i++) {
            if (cluster == null || !cluster.value().equals(clusters.get(i))) {
                cluster = ClusterId.of(clusters.get(i));
            }
            Owner owner = new Owner(cluster, namespaces.get(i), kinds.get(i), names.get(i), uids.get(i));
            list.add(new Holding(owner, v4[i], v6[i], states.get(i), Instant.ofEpochSecond(sinceSeconds[i], sinceNanos[i]),
                    "", null, null, attachments.get(i), ""));
        }
        list.addAll(reserved);
        return list;
    }
}
