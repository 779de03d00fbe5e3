package io.isthmus.api;

import java.util.Locale;

public enum Protocol {
    TCP, UDP, SCTP;

    public static Protocol parse(String field, String text) {
        try {
            return valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(field, text, "protocol must be TCP, UDP or SCTP");
        }
    }
}
