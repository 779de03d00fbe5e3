package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Condition;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ExportConflict;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportConditionsTest {
    private static final Instant T0 = Instant.parse("2026-11-26T10:00:00Z");
    private static final Instant T1 = Instant.parse("2026-11-26T10:05:00Z");

    private static Condition find(List<Condition> conditions, String type) {
        return conditions.stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    @Test
    void anInvalidExportIsNotValidNotReadyWithTheReasonAndMessage() {
        List<Condition> conditions = ExportConditions.of(new ExportTranslation.Invalid("ServiceNotFound", "no Service shop/web"),
                List.of(), List.of(), T0);
        assertEquals("False", find(conditions, Mcs.CONDITION_VALID).getStatus());
        assertEquals("ServiceNotFound", find(conditions, Mcs.CONDITION_VALID).getReason());
        assertEquals("no Service shop/web", find(conditions, Mcs.CONDITION_VALID).getMessage());
        assertEquals("False", find(conditions, Mcs.CONDITION_READY).getStatus());
        assertEquals("False", find(conditions, Mcs.CONDITION_CONFLICT).getStatus());
    }

    @Test
    void aConflictIsTrueWithEveryMessageAndTheFieldInTheReason() {
        ExportConflict conflict = new ExportConflict("type", ClusterId.of("east"), ClusterId.of("west"), "shop/web is ClusterSetIP in east but Headless in west");
        List<Condition> conditions = ExportConditions.of(new ExportTranslation.Withheld("NoReadyEndpoints", "none ready"),
                List.of(conflict), List.of(), T0);
        Condition c = find(conditions, Mcs.CONDITION_CONFLICT);
        assertEquals("True", c.getStatus());
        assertEquals("TypeConflict", c.getReason());
        assertEquals(conflict.message(), c.getMessage());
    }

    @Test
    void aConditionKeepsItsTransitionTimeWhileItsStatusStays() {
        var invalid = new ExportTranslation.Invalid("ServiceNotFound", "no Service");
        List<Condition> first = ExportConditions.of(invalid, List.of(), List.of(), T0);
        List<Condition> again = ExportConditions.of(invalid, List.of(), first, T1);
        assertTrue(ExportConditions.same(first, again));
        assertEquals(T0.toString(), find(again, Mcs.CONDITION_VALID).getLastTransitionTime());

        List<Condition> fixed = ExportConditions.of(new ExportTranslation.Withheld("NoReadyEndpoints", "none"), List.of(), again, T1);
        assertFalse(ExportConditions.same(again, fixed));
        assertEquals(T1.toString(), find(fixed, Mcs.CONDITION_VALID).getLastTransitionTime(), "Valid changed to True");
        assertEquals(T0.toString(), find(fixed, Mcs.CONDITION_CONFLICT).getLastTransitionTime(), "Conflict stayed False");
    }
}
