package io.isthmus.ipam.plan;

import io.isthmus.api.InvalidFieldException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** What a segment is for. Written in lower case in config, on the wire and in the CLI. */
public enum SegmentKind {
    POD, SERVICE, UNDERLAY, GLOBAL;

    public static SegmentKind parse(String field, String text) {
        if (text != null) {
            for (SegmentKind kind : values()) {
                if (kind.label().equals(text.trim().toLowerCase(Locale.ROOT))) {
                    return kind;
                }
            }
        }
        throw new InvalidFieldException(field, text == null ? "" : text, "must be one of "
                + Arrays.stream(values()).map(SegmentKind::label).collect(Collectors.joining(", ")));
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
