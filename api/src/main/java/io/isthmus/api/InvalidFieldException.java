package io.isthmus.api;

/**
 * Bad input, named by the field it came in and the value given, so the person who typed it can fix it
 * without reading code: {@code invalid cluster-id 'East_1': must be a DNS label (a-z, 0-9, '-', at most 63)}.
 */
public final class InvalidFieldException extends IllegalArgumentException {
    private final String field;
    private final String value;
    private final String reason;

    public InvalidFieldException(String field, Object value, String reason) {
        super("invalid " + field + " '" + value + "': " + reason);
        this.field = field;
        this.value = String.valueOf(value);
        this.reason = reason;
    }

    /** The same complaint about the same value, named as the caller knows the field (a config path, a flag). */
    public InvalidFieldException as(String otherField) {
        return new InvalidFieldException(otherField, value, reason);
    }

    public String field() {
        return field;
    }

    public String value() {
        return value;
    }

    public String reason() {
        return reason;
    }
}
