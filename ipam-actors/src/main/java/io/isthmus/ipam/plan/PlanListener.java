package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

/**
 * Told the whole plan after every change of a {@link SegmentLedger} (and once after recovery), e.g. to keep the
 * latest {@link Plan} at hand for the pools' guard ({@link Plan#whyNotHeld}) and the demo. Must not block.
 */
@FunctionalInterface
public interface PlanListener {
    void planChanged(Plan plan);

    /** A peer's plan message (or a view in it) was refused and nothing of it recorded, e.g. to count it. */
    default void messageRefused(ClusterId from, PlanOutput.RejectReason reason) {
    }
}
