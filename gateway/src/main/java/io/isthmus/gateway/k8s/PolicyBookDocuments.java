package io.isthmus.gateway.k8s;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.policy.PolicyStore;
import io.isthmus.k8s.crd.PolicyDocuments;
import io.isthmus.policy.Policy;
import io.isthmus.policy.PolicyCodec;
import io.isthmus.policy.PolicyEntry;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The GlobalNetworkPolicy controller's view of this gateway's {@link PolicyStore}: objects read with
 * {@link PolicyCodec#readOne} (a refusal names the field and value), written as this cluster's edits, deleted only when
 * the entry in force is the object's policy. {@code enforcedVersion} is the book version the data path enforces (the
 * compiled table's); the peers' versions are those the store was told over peering.
 */
final class PolicyBookDocuments implements PolicyDocuments {
    private final ClusterId self;
    private final PolicyStore store;
    private final Supplier<String> enforcedVersion;
    private final AtomicLong bookChanges = new AtomicLong();

    PolicyBookDocuments(ClusterId self, PolicyStore store, Supplier<String> enforcedVersion) {
        this.self = self;
        this.store = store;
        this.enforcedVersion = enforcedVersion;
        store.whenChanged(changed -> bookChanges.incrementAndGet());
    }

    @Override
    public Applied apply(String name, String object) {
        Policy policy;
        try {
            policy = read(name, object);
        } catch (InvalidFieldException e) {
            return new Invalid(e.getMessage());
        }
        // The store's own lock: what is in force is read in the same step as the write (a peer's merge waits).
        synchronized (store) {
            List<PolicyEntry> written;
            try {
                written = store.apply(List.of(policy));
            } catch (InvalidFieldException tooMany) {
                return new Refused("TooManyPolicies", tooMany.getMessage());
            }
            if (!written.isEmpty()) {
                return new Written(written.getFirst().revision());
            }
            PolicyEntry held = store.book().entries().get(name);
            return new Unchanged(held.revision(), held.origin());
        }
    }

    @Override
    public Optional<Long> delete(String name, String object) {
        Policy policy;
        try {
            policy = read(name, object);
        } catch (InvalidFieldException e) {
            return Optional.empty(); // an invalid spec never put anything in force
        }
        synchronized (store) {
            if (!store.book().get(name).equals(Optional.of(policy))) {
                return Optional.empty();
            }
            return store.delete(name).map(PolicyEntry::revision);
        }
    }

    @Override
    public Standing standing(String name, String object) {
        PolicyEntry held = store.book().entries().get(name);
        Optional<Policy> policy;
        try {
            policy = Optional.of(read(name, object));
        } catch (InvalidFieldException e) {
            policy = Optional.empty();
        }
        String enforced = enforcedVersion.get();
        Map<ClusterId, String> clusters = new TreeMap<>(store.peerVersions());
        clusters.put(self, enforced);
        return new Standing(Optional.ofNullable(held).map(e -> new Entry(e.revision(), e.origin(), e.deleted())),
                held != null && policy.isPresent() && held.policy().equals(policy), enforced, clusters);
    }

    @Override
    public String versionStamp() {
        return bookChanges.get() + " " + enforcedVersion.get() + " " + store.peerVersions();
    }

    private static Policy read(String name, String object) {
        Policy policy = PolicyCodec.readOne(object);
        if (!policy.name().equals(name)) {
            throw new InvalidFieldException("metadata.name", policy.name(), "must be the object's name " + name);
        }
        return policy;
    }
}
