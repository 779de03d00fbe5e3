package io.isthmus.k8s.crd;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/** How our cluster-scoped CRDs' controllers write their statuses and conditions (ClusterPeer, IPPool). */
final class StatusWrites {
    private static final Logger log = LoggerFactory.getLogger(StatusWrites.class);

    private StatusWrites() {
    }

    /**
     * A condition of {@code type}; its {@code lastTransitionTime} is kept from the same condition in {@code old}
     * while its status stays, else it is {@code now}.
     */
    static Condition condition(List<Condition> old, long generation, String type, String status, String reason,
                               String message, Instant now) {
        String since = find(old, type).filter(c -> status.equals(c.getStatus())).map(Condition::getLastTransitionTime)
                .orElse(DateTimeFormatter.ISO_INSTANT.format(now.truncatedTo(ChronoUnit.SECONDS)));
        return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
                .withObservedGeneration(generation).withLastTransitionTime(since).build();
    }

    static Optional<Condition> find(List<Condition> conditions, String type) {
        return conditions == null ? Optional.empty()
                : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    /** The conditions without their transition times: what tells a real change from a rewrite. */
    static List<Condition> withoutTimes(List<Condition> conditions) {
        return conditions == null ? null : conditions.stream()
                .map(c -> new ConditionBuilder(c).withLastTransitionTime(null).build()).toList();
    }

    /**
     * {@code PUT /status} of {@code current} with {@code status}, at the resourceVersion the cache saw. False when the
     * object changed meanwhile (409: another replica, a new spec): its update event brings it back to the controller.
     */
    static <S, T, R extends CustomResource<S, T>> boolean putStatus(KubernetesClient client, R current,
                                                                    Supplier<R> blank, T status) {
        R updated = blank.get();
        updated.setMetadata(new ObjectMetaBuilder().withName(current.getMetadata().getName())
                .withResourceVersion(current.getMetadata().getResourceVersion()).build());
        updated.setSpec(current.getSpec());
        updated.setStatus(status);
        try {
            client.resource(updated).updateStatus();
            return true;
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                log.debug("{} {}: status not written, the object changed meanwhile", current.getKind(),
                        current.getMetadata().getName());
                return false;
            }
            throw e;
        }
    }
}
