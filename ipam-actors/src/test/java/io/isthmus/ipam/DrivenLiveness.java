package io.isthmus.ipam;

import io.isthmus.api.ipam.Owner;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/** An {@link OwnerLiveness} a test drives: owners are RUNNING unless the test says otherwise. */
public final class DrivenLiveness implements OwnerLiveness {
    private final Map<String, OwnerState> byIdentityAndUid = new ConcurrentHashMap<>();
    private volatile boolean failing;

    public void set(Owner owner, OwnerState state) {
        byIdentityAndUid.put(owner.toString(), state);
    }

    public void failing(boolean fail) {
        failing = fail;
    }

    @Override
    public CompletionStage<Map<Owner, OwnerState>> check(List<Owner> owners) {
        if (failing) {
            return CompletableFuture.failedFuture(new IllegalStateException("liveness source down (test)"));
        }
        Map<Owner, OwnerState> answer = new HashMap<>();
        for (Owner owner : owners) {
            answer.put(owner, byIdentityAndUid.getOrDefault(owner.toString(), OwnerState.RUNNING));
        }
        return CompletableFuture.completedFuture(answer);
    }
}
