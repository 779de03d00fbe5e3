package io.isthmus.fastpath;

/**
 * Bad input to a fast path, named by its field and the value given, so whoever typed it can fix it without reading
 * code: {@code invalid tun name 'isthmus-tunnel-0': longer than 15 bytes (IFNAMSIZ 16 with the NUL)}. The same shape
 * as {@code io.isthmus.api.InvalidFieldException}, which this module cannot depend on; callers that can, map
 * {@link #field()}, {@link #value()} and {@link #reason()} onto it.
 */
public final class InvalidArgumentException extends IllegalArgumentException {
    private final String field;
    private final String value;
    private final String reason;

    public InvalidArgumentException(String field, Object value, String reason) {
        super("invalid " + field + " '" + value + "': " + reason);
        this.field = field;
        this.value = String.valueOf(value);
        this.reason = reason;
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
