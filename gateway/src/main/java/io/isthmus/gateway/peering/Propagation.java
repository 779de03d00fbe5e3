package io.isthmus.gateway.peering;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * How long an export change took from its origin gateway to being applied here: our clock now minus the origin's
 * {@code changed_at}, read on our clock through the estimated skew of the origin's. Only the origin's own link can
 * tell its skew, and a gateway takes only a peer's own exports (anything else closes the link as foreign-origin), so
 * the origin is always the peer at the other end of the link the change came on. Were exports ever relayed, the
 * relay's skew would say nothing of the origin's clock and such changes would have to go untimed.
 *
 * @param elapsed the propagation time, never negative
 * @param clamped whether the corrected time came out negative (the skew estimate is off by up to its bound, the
 *                clocks moved since) and was taken as zero
 */
record Propagation(Duration elapsed, boolean clamped) {

    /**
     * The propagation of a change made at {@code changedAtMicros} on the origin's clock and applied {@code appliedAt}
     * on ours; empty when the origin sent no time (a sender older than the field) or we have no skew estimate of it
     * yet (uncorrected, another machine's clock would be timed rather than the propagation).
     */
    static Optional<Propagation> of(long changedAtMicros, Instant appliedAt, ClockSkew.Estimate originSkew) {
        if (changedAtMicros == 0 || originSkew == null) {
            return Optional.empty();
        }
        Instant changedAtHere = originSkew.toLocal(ClockSkew.instantOfMicros(changedAtMicros));
        Duration elapsed = Duration.between(changedAtHere, appliedAt);
        return Optional.of(elapsed.isNegative() ? new Propagation(Duration.ZERO, true) : new Propagation(elapsed, false));
    }
}
