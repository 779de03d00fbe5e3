package io.isthmus.k8s.crd;

import io.isthmus.api.ClusterId;

import java.util.Map;
import java.util.Optional;

/**
 * The clusterset's policy book as the {@link GlobalNetworkPolicyReconciler} sees it (the gateway implements it over
 * its policy store). Objects cross as text: {@code object} is a GlobalNetworkPolicy as JSON ({@code apiVersion},
 * {@code kind}, {@code metadata.name}, {@code spec}); the gateway reads and validates it, this module never does.
 * Calls are made from the controller's one worker thread, {@link #versionStamp} from its timer too.
 */
public interface PolicyDocuments {

    /**
     * This cluster's edit of the book: writes the object's policy as a new revision unless the entry in force already
     * holds exactly that policy (then nothing is written).
     */
    Applied apply(String name, String object);

    /**
     * Deletes {@code name} (a tombstone, one revision on) if the entry in force holds the policy of {@code object}
     * (what this cluster's object put there); anything else in force (another cluster's later edit, a deletion) is
     * left alone. Returns the tombstone's revision, or empty when nothing was written.
     */
    Optional<Long> delete(String name, String object);

    /** How the book stands for {@code name}, compared with the policy of {@code object}, and the versions held. */
    Standing standing(String name, String object);

    /**
     * Changes whenever what {@link #standing} answers may have changed for some name (the book, the version enforced,
     * a peer's reported version); compared for equality only.
     */
    String versionStamp();

    /** What {@link #apply} did. */
    sealed interface Applied {
    }

    /** Written as {@code revision} by this cluster. */
    record Written(long revision) implements Applied {
    }

    /** The entry in force ({@code revision} by {@code origin}) already holds this policy: nothing written. */
    record Unchanged(long revision, ClusterId origin) implements Applied {
    }

    /** Not a valid policy; {@code message} names the field and value. Nothing written; final for this spec. */
    record Invalid(String message) implements Applied {
    }

    /** Valid, but not taken now ({@code reason}, e.g. TooManyPolicies); tried again at the next resync. */
    record Refused(String reason, String message) implements Applied {
    }

    /** The book's entry of one name: a policy or a deletion, at a revision, written by a cluster. */
    record Entry(long revision, ClusterId origin, boolean deleted) {
    }

    /**
     * @param entry        the book's entry of the name, if any
     * @param holdsObject  the entry is the object's policy (false too when the object is not a valid policy)
     * @param version      the book version this cluster enforces
     * @param clusters     the book version each cluster reported, this one (its enforced version) included
     */
    record Standing(Optional<Entry> entry, boolean holdsObject, String version, Map<ClusterId, String> clusters) {
        public Standing {
            clusters = Map.copyOf(clusters);
        }
    }
}
