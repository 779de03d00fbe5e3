package io.isthmus.ipam.plan;

/**
 * Told the whole plan after every change of a {@link SegmentLedger} (and once after recovery), e.g. to keep the
 * latest {@link Plan} at hand for the pools' guard ({@link Plan#whyNotHeld}) and the demo. Must not block.
 */
@FunctionalInterface
public interface PlanListener {
    void planChanged(Plan plan);
}
