package io.isthmus.ipam.serialization;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * The journal schemas of ipam-actors, each registered for its stored types in {@link #RESOURCE}
 * ({@code pekko.serialization.jackson.migrations}). Version 1 is everything written before versions were recorded;
 * version 2 fills in what version-1 entries of older releases may lack, so the records need no null defaults for them.
 * (Pool directory events and the address plan's entries are {@link VersionRecorded}.) A new version: add its upgrader at the end of the family's list (see {@link SchemaMigration} for what a version may
 * change) and a test that reads the previous version's form.
 */
public final class IpamSchema {
    /** The classpath resource registering the migrations: a layer of the ActorSystem's config (see the file). */
    public static final String RESOURCE = "isthmus-journal-schema.conf";

    private IpamSchema() {
    }

    /** Pool events ({@code PoolEvent} and the changes of a batch): a reservation written before CNI attachments has none. */
    public static final class PoolEvents extends SchemaMigration {
        @Override
        protected List<Upgrade> upgrades() {
            return List.of(IpamSchema::reservationsBound);
        }
    }

    /** Pool snapshots: those from before the reuse delay lack {@code cooling}, from before attachments {@code attachments}. */
    public static final class PoolSnapshots extends SchemaMigration {
        @Override
        protected List<Upgrade> upgrades() {
            return List.of(IpamSchema::snapshotCompleted);
        }
    }

    /** The pool directory's snapshot: from before pools could be deleted it lacks {@code deletions}. */
    public static final class PoolDirectoryState extends SchemaMigration {
        @Override
        protected List<Upgrade> upgrades() {
            return List.of(json -> withDefault(json, "deletions", JsonNodeFactory.instance.objectNode()));
        }
    }

    private static JsonNode reservationsBound(JsonNode event) {
        if (event instanceof ObjectNode object) {
            if (object.path("changes") instanceof ArrayNode changes) {
                for (int i = 0; i < changes.size(); i++) {
                    changes.set(i, reservationsBound(changes.get(i)));
                }
            } else if (object.has("reservationId") && object.has("expiresAt")) { // a Reserved (no other event has both)
                withDefault(object, "attachment", JsonNodeFactory.instance.textNode(""));
            }
        }
        return event;
    }

    private static JsonNode snapshotCompleted(JsonNode snapshot) {
        if (snapshot instanceof ObjectNode object) {
            withDefault(object, "cooling", JsonNodeFactory.instance.arrayNode());
            if (missing(object, "attachments")) {
                ArrayNode unbound = JsonNodeFactory.instance.arrayNode();
                object.path("names").forEach(name -> unbound.add(""));
                object.set("attachments", unbound);
            }
            if (object.path("reserved") instanceof ArrayNode reserved) {
                reserved.forEach(holding -> withDefault(holding, "attachment", JsonNodeFactory.instance.textNode("")));
            }
        }
        return snapshot;
    }

    private static JsonNode withDefault(JsonNode json, String field, JsonNode value) {
        if (json instanceof ObjectNode object && missing(object, field)) {
            object.set(field, value);
        }
        return json;
    }

    private static boolean missing(ObjectNode object, String field) {
        return !object.has(field) || object.get(field).isNull();
    }
}
