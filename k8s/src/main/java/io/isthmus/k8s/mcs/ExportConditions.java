package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.isthmus.api.ExportConflict;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The conditions a {@code ServiceExport} should carry: {@code Valid} (False with the reason when nothing can be
 * exported), {@code Ready} (whether it is offered to the clusterset now) and {@code Conflict} (True with every
 * disagreement that involves this cluster, on the side of the oldest export as well as on the other side).
 * A condition keeps its {@code lastTransitionTime} while its status stays the same. Pure.
 */
public final class ExportConditions {
    private ExportConditions() {
    }

    public static List<Condition> of(ExportTranslation.Outcome outcome, List<ExportConflict> conflicts,
                                     List<Condition> current, Instant now) {
        Condition valid = switch (outcome) {
            case ExportTranslation.Invalid(String reason, String message) -> condition(Mcs.CONDITION_VALID, false, reason, message);
            case ExportTranslation.Offered o -> condition(Mcs.CONDITION_VALID, true, "Valid", "the Service can be exported");
            case ExportTranslation.Withheld w -> condition(Mcs.CONDITION_VALID, true, "Valid", "the Service can be exported");
        };
        Condition ready = switch (outcome) {
            case ExportTranslation.Offered o -> condition(Mcs.CONDITION_READY, true, "Exported", "offered to the clusterset");
            case ExportTranslation.Withheld(String reason, String message) -> condition(Mcs.CONDITION_READY, false, reason, message);
            case ExportTranslation.Invalid i -> condition(Mcs.CONDITION_READY, false, "Invalid", "not exported: see the Valid condition");
        };
        Condition conflict = conflicts.isEmpty()
                ? condition(Mcs.CONDITION_CONFLICT, false, "NoConflict", "every cluster that exports this service agrees")
                : condition(Mcs.CONDITION_CONFLICT, true, conflictReason(conflicts),
                String.join("; ", conflicts.stream().map(ExportConflict::message).toList()));
        return List.of(stamp(valid, current, now), stamp(ready, current, now), stamp(conflict, current, now));
    }

    /** Whether two condition lists say the same, transition times aside. */
    public static boolean same(List<Condition> a, List<Condition> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            Condition x = a.get(i);
            Condition y = b.get(i);
            if (!Objects.equals(x.getType(), y.getType()) || !Objects.equals(x.getStatus(), y.getStatus())
                    || !Objects.equals(x.getReason(), y.getReason()) || !Objects.equals(x.getMessage(), y.getMessage())) {
                return false;
            }
        }
        return true;
    }

    /** MCS names the field in the reason: TypeConflict, PortConflict. */
    private static String conflictReason(List<ExportConflict> conflicts) {
        return conflicts.stream().anyMatch(c -> c.field().equals("type")) ? "TypeConflict" : "PortConflict";
    }

    private static Condition condition(String type, boolean status, String reason, String message) {
        return new ConditionBuilder().withType(type).withStatus(status ? "True" : "False").withReason(reason)
                .withMessage(message).build();
    }

    private static Condition stamp(Condition condition, List<Condition> current, Instant now) {
        String since = current.stream()
                .filter(c -> condition.getType().equals(c.getType()) && condition.getStatus().equals(c.getStatus()))
                .map(Condition::getLastTransitionTime).filter(Objects::nonNull).findFirst()
                .orElse(now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        condition.setLastTransitionTime(since);
        return condition;
    }
}
