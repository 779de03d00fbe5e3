package io.isthmus.k8s.mcs;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What the MCS sync watches and how often it reconciles everything.
 *
 * @param self           this cluster's id
 * @param namespaces     the namespaces watched and written; empty: all of them
 * @param resyncInterval how often everything is reconciled from the informers' caches, changes or not
 * @param pollInterval   how often the clusterset view is checked for changes (a reference comparison)
 */
public record McsSettings(ClusterId self, List<String> namespaces, Duration resyncInterval, Duration pollInterval) {
    public McsSettings {
        namespaces = List.copyOf(namespaces);
        Objects.requireNonNull(self, "self");
        if (resyncInterval.isNegative() || resyncInterval.isZero()) {
            throw new InvalidFieldException("resync-interval", resyncInterval, "must be positive");
        }
        if (pollInterval.isNegative() || pollInterval.isZero()) {
            throw new InvalidFieldException("poll-interval", pollInterval, "must be positive");
        }
    }
}
