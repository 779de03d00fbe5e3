package io.isthmus.ipam.serialization;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

import java.util.List;

/**
 * The schema version of one family of journal types (events and snapshots) and the upgraders that bring what older
 * releases wrote to the current form. Pekko's Jackson serializer writes the version into each stored entry's
 * manifest ({@code class#version}; entries written before schema versions have none: version 1) and, on reading,
 * hands the JSON tree of an older entry to {@link #transform} before binding it.
 *
 * <p>The skew policy this encodes: version N+1 of a family may only <em>add</em> fields that version N can ignore
 * (Jackson's {@code FAIL_ON_UNKNOWN_PROPERTIES} is off), so a replica one version behind reads what a newer replica
 * wrote during a rolling upgrade ({@link #supportedForwardVersion}); an entry two or more versions ahead is refused
 * with an error naming both versions, rather than read wrongly. Anything else (a renamed or re-typed field) needs a
 * release that reads both forms first.
 */
public abstract class SchemaMigration extends JacksonMigration {
    /** Turns the JSON tree of one version into the next version's. */
    @FunctionalInterface
    public interface Upgrade {
        JsonNode apply(JsonNode json);
    }

    /**
     * The upgrader from version 1 to 2 first, then from 2 to 3, ...: the current version is one more than their
     * number. Called while Pekko's constructor runs, before the subclass's fields exist: return a new list of
     * stateless upgraders, read no fields.
     */
    protected abstract List<Upgrade> upgrades();

    @Override
    public final int currentVersion() {
        return upgrades().size() + 1;
    }

    @Override
    public final int supportedForwardVersion() {
        return currentVersion() + 1;
    }

    @Override
    public final JsonNode transform(int fromVersion, JsonNode json) {
        if (fromVersion < 1) {
            throw new IllegalArgumentException("journal schema version " + fromVersion + " does not exist (the first is 1)");
        }
        JsonNode upgraded = json;
        // A newer entry (fromVersion above ours) is read as it is: its added fields are ignored.
        for (int version = fromVersion; version < currentVersion(); version++) {
            upgraded = upgrades().get(version - 1).apply(upgraded);
        }
        return upgraded;
    }
}
