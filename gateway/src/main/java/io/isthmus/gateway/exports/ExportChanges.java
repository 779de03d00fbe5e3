package io.isthmus.gateway.exports;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The rules a change of many exports at once ({@link ExportRegistry.ApplyChanges}) must meet before any of it is stored. */
public final class ExportChanges {
    /**
     * The most services one change may touch: its event is one journal row (about 200 bytes a service), and the
     * peers take its exports as one delta.
     */
    public static final int MAX_SERVICES = 50_000;

    private ExportChanges() {
    }

    /**
     * Throws, naming the first bad entry as {@code exports[i]} or {@code unexports[i]}, when the change is too large
     * or names a service twice (twice exported, twice withdrawn, or both): its outcome would depend on the order.
     */
    public static void check(List<ServiceExport> exports, List<ServiceKey> unexports) {
        int size = exports.size() + unexports.size();
        if (size > MAX_SERVICES) {
            throw new InvalidFieldException("exports", size + " services",
                    "one change may touch at most " + MAX_SERVICES + " services; split it");
        }
        Map<ServiceKey, String> seen = new HashMap<>(size * 2);
        for (int i = 0; i < exports.size(); i++) {
            requireFirst(seen, exports.get(i).key(), "exports[" + i + "]");
        }
        for (int i = 0; i < unexports.size(); i++) {
            requireFirst(seen, unexports.get(i), "unexports[" + i + "]");
        }
    }

    private static void requireFirst(Map<ServiceKey, String> seen, ServiceKey key, String field) {
        String first = seen.putIfAbsent(key, field);
        if (first != null) {
            throw new InvalidFieldException(field, key, "names the same service as " + first
                    + "; each service may appear once in a change");
        }
    }
}
