package io.isthmus.api;

import java.util.regex.Pattern;

/** RFC 1123 labels, the form Kubernetes uses for namespaces, service names and (here) cluster ids. */
public final class DnsLabel {
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    public static final int MAX_LENGTH = 63;

    private DnsLabel() {
    }

    /** Returns {@code value} if it is a DNS label, else throws naming {@code field}. */
    public static String require(String field, String value) {
        if (value == null || value.isEmpty()) {
            throw new InvalidFieldException(field, value == null ? "" : value, "must not be empty");
        }
        if (value.length() > MAX_LENGTH || !LABEL.matcher(value).matches()) {
            throw new InvalidFieldException(field, value,
                    "must be a DNS label: lower-case a-z, 0-9 and '-', starting and ending with a letter or digit, at most 63 characters");
        }
        return value;
    }
}
