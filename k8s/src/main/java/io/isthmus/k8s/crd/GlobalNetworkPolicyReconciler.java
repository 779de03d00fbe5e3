package io.isthmus.k8s.crd;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.k8s.controller.Controller;
import io.isthmus.k8s.controller.Watch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Makes each {@link GlobalNetworkPolicy} object of this cluster this cluster's edit of the clusterset's policy book
 * ({@link PolicyDocuments}), and writes in its status what the book holds and which version each cluster enforces.
 *
 * <ul>
 *   <li><b>Apply once per generation.</b> A generation greater than the last one applied from the object (its
 *       {@code status.observedGeneration}, or what this controller remembers when that status write has not landed)
 *       is handed to the book; the book writes a revision only when the policy differs from the entry in force.
 *       Resyncs, restarts and status writes (which do not change the generation) never make a new revision, and two
 *       clusters holding the same object do not take turns rewriting it.</li>
 *   <li><b>Delete what this object put there.</b> Deleting the object deletes the policy (a tombstone) only if the
 *       entry in force is the policy this object last had accepted; a later edit from elsewhere stays.</li>
 *   <li><b>One way.</b> Policies written elsewhere (other clusters, {@code isthmus policy apply}) are never mirrored
 *       into objects here.</li>
 *   <li><b>Status.</b> {@code Accepted}, {@code InForce}, the entry's revision and origin, the version enforced
 *       here and each cluster's reported version: refreshed on every reconcile, when the book's versions change
 *       ({@link PolicyDocuments#versionStamp}, looked at every {@code versionPoll}) and at each resync; written only
 *       when it changed.</li>
 * </ul>
 */
public final class GlobalNetworkPolicyReconciler implements Controller.Reconciler<String> {
    private static final Logger log = LoggerFactory.getLogger(GlobalNetworkPolicyReconciler.class);
    public static final String ACCEPTED = "Accepted";
    public static final String IN_FORCE = "InForce";

    /**
     * What this controller applied from an object (by uid: a recreated object starts over): the generation, the
     * Accepted condition it earned, and the object text whose policy it put in force (empty: none yet).
     */
    private record Applied(String uid, long generation, Condition accepted, Optional<String> inForce) {
    }

    private final KubernetesClient client;
    private final PolicyDocuments documents;
    private final Clock clock;
    private final Watch<GlobalNetworkPolicy> policies;
    private final Map<String, Applied> applied = new ConcurrentHashMap<>();
    private final AtomicReference<String> lastStamp = new AtomicReference<>();

    private GlobalNetworkPolicyReconciler(KubernetesClient client, PolicyDocuments documents, Clock clock) {
        this.client = client;
        this.documents = documents;
        this.clock = clock;
        this.policies = Watch.clusterScoped("GlobalNetworkPolicies", client,
                client.resources(GlobalNetworkPolicy.class));
    }

    /**
     * Starts watching GlobalNetworkPolicies (listing in the background while the API server is away); every status
     * again each {@code resync}, and when the book's versions change (looked at every {@code versionPoll}).
     */
    public static Controller<String> start(KubernetesClient client, PolicyDocuments documents, Duration resync,
                                           Duration versionPoll, Clock clock) {
        GlobalNetworkPolicyReconciler reconciler = new GlobalNetworkPolicyReconciler(client, documents, clock);
        return Controller.<String>named("globalnetworkpolicies")
                .watch(reconciler.policies, object -> Optional.of(object.getMetadata().getName()))
                .poll(versionPoll, reconciler::namesIfVersionsChanged)
                .resyncEvery(resync).clock(clock).start(reconciler);
    }

    /** Every object, and the ones gone whose policy this controller put in force (a delete event missed). */
    @Override
    public Collection<String> keys() {
        TreeSet<String> names = new TreeSet<>(policies.names());
        names.addAll(applied.keySet());
        return names;
    }

    private Collection<String> namesIfVersionsChanged() {
        String stamp = documents.versionStamp();
        String before = lastStamp.getAndSet(stamp);
        return before == null || before.equals(stamp) ? List.of() : policies.names();
    }

    @Override
    public void reconcile(String name) {
        GlobalNetworkPolicy policy = policies.get(null, name);
        if (policy == null) {
            deleted(name);
            return;
        }
        String uid = Objects.requireNonNullElse(policy.getMetadata().getUid(), "");
        long generation = Objects.requireNonNullElse(policy.getMetadata().getGeneration(), 1L);
        GlobalNetworkPolicyStatus old = policy.getStatus();
        List<Condition> oldConditions = old == null ? null : old.conditions();
        Applied remembered = Optional.ofNullable(applied.get(name)).filter(a -> a.uid().equals(uid)).orElse(null);
        long observed = old == null || old.observedGeneration() == null ? 0 : old.observedGeneration();
        long appliedGeneration = Math.max(observed, remembered == null ? 0 : remembered.generation());
        String object = objectText(policy);

        Condition accepted;
        long nextObserved;
        if (generation > appliedGeneration) {
            Optional<String> inForceBefore = remembered == null ? Optional.empty() : remembered.inForce();
            PolicyDocuments.Applied outcome = documents.apply(name, object);
            switch (outcome) {
                case PolicyDocuments.Written written -> {
                    accepted = condition(oldConditions, generation, ACCEPTED, "True", "Applied", "generation "
                            + generation + " written to the clusterset's policy book as revision " + written.revision());
                    log.info("GlobalNetworkPolicy {}: generation {} written as revision {}", name, generation,
                            written.revision());
                    remember(name, uid, generation, accepted, Optional.of(object));
                    nextObserved = generation;
                }
                case PolicyDocuments.Unchanged unchanged -> {
                    accepted = condition(oldConditions, generation, ACCEPTED, "True", "Applied", "generation "
                            + generation + " is the policy in force (revision " + unchanged.revision() + " by cluster "
                            + unchanged.origin().value() + "): nothing written");
                    remember(name, uid, generation, accepted, Optional.of(object));
                    nextObserved = generation;
                }
                case PolicyDocuments.Invalid invalid -> {
                    accepted = condition(oldConditions, generation, ACCEPTED, "False", "Invalid", invalid.message());
                    log.info("GlobalNetworkPolicy {}: generation {} refused: {}", name, generation, invalid.message());
                    remember(name, uid, generation, accepted, inForceBefore);
                    nextObserved = generation;
                }
                case PolicyDocuments.Refused refused -> {
                    // Not final: the generation is not marked applied, so the next resync tries again.
                    accepted = condition(oldConditions, generation, ACCEPTED, "False", refused.reason(),
                            refused.message());
                    log.info("GlobalNetworkPolicy {}: generation {} not applied now ({}): {}", name, generation,
                            refused.reason(), refused.message());
                    nextObserved = observed;
                }
            }
        } else {
            nextObserved = appliedGeneration;
            if (remembered != null && remembered.generation() == appliedGeneration) {
                accepted = remembered.accepted();
            } else {
                accepted = StatusWrites.find(oldConditions, ACCEPTED).orElse(null);
                if ((remembered == null || remembered.generation() < generation) && accepted != null && "True".equals(accepted.getStatus())
                        && Objects.equals(accepted.getObservedGeneration(), generation)) {
                    // After a restart (or applied by another replica): this generation was accepted, so its policy is
                    // what this object put in force (and what deleting it deletes).
                    remember(name, uid, generation, accepted, Optional.of(object));
                }
            }
        }

        PolicyDocuments.Standing standing = documents.standing(name, object);
        List<Condition> conditions = new ArrayList<>();
        if (accepted != null) {
            conditions.add(accepted);
        }
        conditions.add(inForce(oldConditions, generation, accepted, standing));
        GlobalNetworkPolicyStatus next = new GlobalNetworkPolicyStatus(conditions, nextObserved == 0 ? null : nextObserved,
                standing.entry().map(PolicyDocuments.Entry::revision).orElse(null),
                standing.entry().map(entry -> entry.origin().value()).orElse(null), standing.version(),
                standing.clusters().entrySet().stream().sorted(Map.Entry.comparingByKey())
                        .map(e -> new GlobalNetworkPolicyStatus.ClusterVersion(e.getKey().value(), e.getValue()))
                        .toList());
        if (!sameIgnoringTimes(old, next)) {
            StatusWrites.putStatus(client, policy, GlobalNetworkPolicy::new, next);
        }
    }

    private void remember(String name, String uid, long generation, Condition accepted, Optional<String> inForce) {
        applied.put(name, new Applied(uid, generation, accepted, inForce));
    }

    /** The object is gone: its policy goes too, if it is still what this object put in force. */
    private void deleted(String name) {
        Applied gone = applied.get(name);
        if (gone == null) {
            return;
        }
        if (gone.inForce().isPresent()) {
            Optional<Long> tombstone = documents.delete(name, gone.inForce().get());
            if (tombstone.isPresent()) {
                log.info("GlobalNetworkPolicy {} deleted: policy deleted from the book as revision {}", name,
                        tombstone.get());
            } else {
                log.info("GlobalNetworkPolicy {} deleted: the book holds another edit of it, which stays", name);
            }
        }
        applied.remove(name, gone);
    }

    private Condition inForce(List<Condition> old, long generation, Condition accepted,
                              PolicyDocuments.Standing standing) {
        if (standing.entry().isEmpty()) {
            return condition(old, generation, IN_FORCE, "False", "NotInBook",
                    "the clusterset's policy book holds no policy of this name");
        }
        PolicyDocuments.Entry entry = standing.entry().get();
        String written = "revision " + entry.revision() + " by cluster " + entry.origin().value();
        if (standing.holdsObject()) {
            return condition(old, generation, IN_FORCE, "True", "InForce", written + " is this object's spec; "
                    + "this cluster enforces book " + standing.version());
        }
        if (entry.deleted()) {
            return condition(old, generation, IN_FORCE, "False", "Deleted", "deleted at " + written
                    + "; this object's spec is applied again when it changes (a new generation)");
        }
        if (accepted != null && "False".equals(accepted.getStatus())) {
            return condition(old, generation, IN_FORCE, "False", "NotApplied", "this object's spec is refused (see "
                    + "Accepted); the book holds " + written);
        }
        return condition(old, generation, IN_FORCE, "False", "Superseded", "the book holds " + written
                + ", a later edit than this object's spec; this object's spec is applied again when it changes");
    }

    /** The object as the book reads it: apiVersion, kind, metadata.name and spec, as JSON. */
    private String objectText(GlobalNetworkPolicy policy) {
        GlobalNetworkPolicy bare = new GlobalNetworkPolicy();
        bare.setMetadata(new ObjectMetaBuilder().withName(policy.getMetadata().getName()).build());
        bare.setSpec(policy.getSpec());
        return client.getKubernetesSerialization().asJson(bare);
    }

    private Condition condition(List<Condition> old, long generation, String type, String status, String reason,
                                String message) {
        return StatusWrites.condition(old, generation, type, status, reason, message, clock.instant());
    }

    private static boolean sameIgnoringTimes(GlobalNetworkPolicyStatus old, GlobalNetworkPolicyStatus next) {
        if (old == null) {
            return false;
        }
        return withoutTimes(old).equals(withoutTimes(next));
    }

    private static GlobalNetworkPolicyStatus withoutTimes(GlobalNetworkPolicyStatus status) {
        return new GlobalNetworkPolicyStatus(StatusWrites.withoutTimes(status.conditions()),
                status.observedGeneration(), status.revision(), status.origin(), status.version(),
                status.clusters() == null ? List.of() : status.clusters());
    }
}
