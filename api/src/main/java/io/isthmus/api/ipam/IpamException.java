package io.isthmus.api.ipam;

import io.isthmus.api.InvalidFieldException;

/**
 * A refused IPAM request: the {@link IpamError code} callers map to HTTP or CNI, a message a person can act on, and
 * for {@link IpamError#INVALID_INPUT} the field and value that were wrong (empty otherwise).
 */
public final class IpamException extends RuntimeException {
    private final IpamError error;
    private final String field;
    private final String value;

    public IpamException(IpamError error, String message) {
        this(error, message, "", "");
    }

    public IpamException(IpamError error, String message, String field, String value) {
        super(message);
        this.error = error;
        this.field = field == null ? "" : field;
        this.value = value == null ? "" : value;
    }

    public static IpamException invalid(InvalidFieldException e) {
        return new IpamException(IpamError.INVALID_INPUT, e.getMessage(), e.field(), e.value());
    }

    public IpamError error() {
        return error;
    }

    public String field() {
        return field;
    }

    public String value() {
        return value;
    }
}
