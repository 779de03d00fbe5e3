package io.isthmus.k8s.mcs;

import io.isthmus.api.ServiceDirectory;

/**
 * The clusterset's merged view of every export (the gateway's mesh view, which DNS answers from too); the gateway
 * implements it. Read often: it must return the current immutable snapshot at once.
 */
@FunctionalInterface
public interface ImportSource {
    ServiceDirectory directory();
}
