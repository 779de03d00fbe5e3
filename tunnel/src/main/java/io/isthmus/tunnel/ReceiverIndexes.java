package io.isthmus.tunnel;

import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;

/**
 * The receiver indexes in use at one tunnel endpoint: each session receives under an index of its own, random (so
 * indexes say nothing about how many sessions there were) and never 0. Shared by the key exchanges of all peers of
 * one endpoint; an index is released when its session is retired or its offer abandoned.
 */
public final class ReceiverIndexes {
    private final SecureRandom random;
    private final Set<Integer> inUse = new HashSet<>();

    public ReceiverIndexes(SecureRandom random) {
        this.random = random;
    }

    synchronized int allocate() {
        while (true) {
            int index = random.nextInt();
            if (index != 0 && inUse.add(index)) {
                return index;
            }
        }
    }

    synchronized void release(int index) {
        inUse.remove(index);
    }

    synchronized int inUse() {
        return inUse.size();
    }
}
