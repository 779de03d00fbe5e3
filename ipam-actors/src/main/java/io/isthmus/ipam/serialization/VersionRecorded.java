package io.isthmus.ipam.serialization;

import java.util.List;

/**
 * The schema of a journal family whose stored form did not change when versions started being recorded: version 2
 * reads version-1 entries as they are. It still makes the version part of every new entry, so a replica one version
 * behind reads them and one further behind refuses them ({@link SchemaMigration}).
 */
public final class VersionRecorded extends SchemaMigration {
    @Override
    protected List<Upgrade> upgrades() {
        return List.of(json -> json);
    }
}
