package io.isthmus.api.ipam;

import io.isthmus.api.ClusterId;
import io.isthmus.api.DnsLabel;
import io.isthmus.api.InvalidFieldException;

import java.util.regex.Pattern;

/**
 * Who holds an address: a workload of one cluster. {@code uid} names one incarnation (a Kubernetes uid, a VM
 * instance id); it may be empty for owners that have none (a static assignment).
 *
 * <p>{@link #identity()} is what a lease is keyed by: for {@link OwnerKind#sticky() sticky} kinds it leaves the
 * uid out, so the next incarnation of {@code web-0} finds the address of the previous one.
 */
public record Owner(ClusterId cluster, String namespace, OwnerKind kind, String name, String uid) {
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
    private static final Pattern UID = Pattern.compile("[A-Za-z0-9._:-]{0,128}");

    public Owner {
        if (cluster == null) {
            throw new InvalidFieldException("owner.cluster", "", "is required");
        }
        DnsLabel.require("owner.namespace", namespace);
        if (kind == null) {
            throw new InvalidFieldException("owner.kind", "", "is required");
        }
        if (name == null || name.isEmpty() || name.length() > 253 || !NAME.matcher(name).matches()) {
            throw new InvalidFieldException("owner.name", name == null ? "" : name,
                    "must be a DNS subdomain (lower-case a-z, 0-9, '-', '.'; at most 253 characters)");
        }
        uid = uid == null ? "" : uid;
        if (!UID.matcher(uid).matches()) {
            throw new InvalidFieldException("owner.uid", uid, "must be at most 128 characters of A-Z a-z 0-9 . _ : -");
        }
    }

    public static Owner of(ClusterId cluster, String namespace, OwnerKind kind, String name, String uid) {
        return new Owner(cluster, namespace, kind, name, uid);
    }

    /** The key leases are held by: {@code cluster/namespace/Kind/name}, plus {@code #uid} for non-sticky kinds. */
    public String identity() {
        String base = cluster.value() + "/" + namespace + "/" + kind.wireName() + "/" + name;
        return kind.sticky() || uid.isEmpty() ? base : base + "#" + uid;
    }

    /** The same identity, another incarnation. */
    public Owner withUid(String otherUid) {
        return new Owner(cluster, namespace, kind, name, otherUid);
    }

    @Override
    public String toString() {
        return uid.isEmpty() ? identity() : cluster.value() + "/" + namespace + "/" + kind.wireName() + "/" + name + "#" + uid;
    }
}
