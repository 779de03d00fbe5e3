package io.isthmus.k8s.mcs;

import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceKey;

import java.util.ArrayList;
import java.util.List;

/**
 * The services whose entry in the clusterset view changed since the last call: a controller's poll. Snapshots of one
 * lineage differ in O(changes × log n), and an unchanged view (the same reference) costs nothing.
 */
final class DirectoryChanges {
    private final ImportSource source;
    private final ServiceScope scope;
    private ServiceDirectory last = ServiceDirectory.EMPTY;

    DirectoryChanges(ImportSource source, ServiceScope scope) {
        this.source = source;
        this.scope = scope;
    }

    /** Called from one thread (the controller's timer). */
    List<ServiceKey> changed() {
        ServiceDirectory now = source.directory();
        List<ServiceKey> changed = new ArrayList<>();
        if (now != last) {
            ServiceDirectory.diff(last, now, (key, before, after) -> {
                if (scope.contains(key.namespace())) {
                    changed.add(key);
                }
            });
            last = now;
        }
        return changed;
    }
}
