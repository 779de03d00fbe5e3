package io.isthmus.api.ipam;

import io.isthmus.api.InvalidFieldException;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * What holds an address. A sticky kind keeps its fixed IP across restarts, rescheduling and migration: its identity
 * is cluster/namespace/kind/name (not the uid), and its address stays reserved after a release until the reclaimer
 * sees that the identity itself is gone.
 */
public enum OwnerKind {
    /** A plain pod: every incarnation (uid) is its own owner. */
    POD("Pod", false),
    /** A StatefulSet pod: {@code web-0} keeps its address across restarts and rescheduling. */
    STATEFUL_POD("StatefulSetPod", true),
    /** A virtual machine: keeps its address across live migration. */
    VIRTUAL_MACHINE("VirtualMachine", true),
    /** An explicit static assignment made by an operator. */
    STATIC("Static", true);

    private final String wireName;
    private final boolean sticky;

    OwnerKind(String wireName, boolean sticky) {
        this.wireName = wireName;
        this.sticky = sticky;
    }

    public boolean sticky() {
        return sticky;
    }

    /** The name used in CLI flags, JSON and CNI args: {@code Pod}, {@code StatefulSetPod}, {@code VirtualMachine}, {@code Static}. */
    public String wireName() {
        return wireName;
    }

    /** Parses a wire name, case-insensitively. */
    public static OwnerKind parse(String field, String text) {
        for (OwnerKind kind : values()) {
            if (kind.wireName.equalsIgnoreCase(text == null ? "" : text.trim())) {
                return kind;
            }
        }
        throw new InvalidFieldException(field, text == null ? "" : text, "must be one of "
                + Arrays.stream(values()).map(OwnerKind::wireName).collect(Collectors.joining(", ")));
    }
}
