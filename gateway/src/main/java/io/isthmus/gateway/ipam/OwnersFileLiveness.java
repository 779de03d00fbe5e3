package io.isthmus.gateway.ipam;

import io.isthmus.api.ipam.Owner;
import io.isthmus.ipam.OwnerLiveness;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Owner liveness from a file, for gateways without Kubernetes (a node agent or script keeps it current; the
 * Kubernetes integration answers from the pod informer instead). One owner per line, as
 * {@code namespace/Kind/name#uid} for a running incarnation, or {@code namespace/Kind/name} for an identity that
 * still exists with no incarnation running (a StatefulSet pod being rescheduled); a line starting with {@code #} is a comment.
 * An owner the file does not name is gone. While the file is missing or unreadable nothing is reported at all, so
 * the reclaimer frees nothing: a broken source must never look like every owner died.
 */
public final class OwnersFileLiveness implements OwnerLiveness {
    private static final Logger log = LoggerFactory.getLogger(OwnersFileLiveness.class);
    private final Path file;

    public OwnersFileLiveness(Path file) {
        this.file = file;
    }

    @Override
    public CompletionStage<Map<Owner, OwnerState>> check(List<Owner> owners) {
        Set<String> running = new HashSet<>();
        Set<String> identities = new HashSet<>();
        try {
            for (String raw : Files.readAllLines(file)) {
                String line = raw.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int hash = line.indexOf('#');
                if (hash >= 0) {
                    running.add(line);
                    identities.add(line.substring(0, hash));
                } else {
                    identities.add(line);
                }
            }
        } catch (NoSuchFileException e) {
            log.warn("owners file {} is missing: no lease is reclaimed until it is back", file);
            return CompletableFuture.completedFuture(Map.of());
        } catch (IOException e) {
            log.warn("owners file {} cannot be read ({}): no lease is reclaimed until it can", file, e.getMessage());
            return CompletableFuture.completedFuture(Map.of());
        }
        Map<Owner, OwnerState> states = new HashMap<>();
        for (Owner owner : owners) {
            String identity = owner.namespace() + "/" + owner.kind().wireName() + "/" + owner.name();
            OwnerState state;
            if (!owner.uid().isEmpty() ? running.contains(identity + "#" + owner.uid())
                    : identities.contains(identity) || running.stream().anyMatch(r -> r.startsWith(identity + "#"))) {
                state = OwnerState.RUNNING;
            } else if (identities.contains(identity)) {
                state = OwnerState.IDENTITY_KEPT;
            } else {
                state = OwnerState.GONE;
            }
            states.put(owner, state);
        }
        return CompletableFuture.completedFuture(states);
    }
}
