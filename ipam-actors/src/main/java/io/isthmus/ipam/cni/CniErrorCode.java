package io.isthmus.ipam.cni;

/**
 * The CNI error codes the endpoint answers with: the spec's well-known codes (0-99) and ours (100 and up). The
 * numbers are part of the plugin's contract with container runtimes; never renumber.
 */
public enum CniErrorCode {
    INCOMPATIBLE_VERSION(1, "Incompatible CNI version"),
    UNSUPPORTED_FIELD(2, "Unsupported field in network configuration"),
    UNKNOWN_CONTAINER(3, "Container unknown or does not exist"),
    INVALID_ENVIRONMENT(4, "Invalid necessary environment variables"),
    IO_FAILURE(5, "I/O failure"),
    DECODING_FAILURE(6, "Failed to decode content"),
    INVALID_CONFIG(7, "Invalid network config"),
    TRY_AGAIN_LATER(11, "Try again later"),
    NOT_AVAILABLE(50, "The plugin is not available"),
    POOL_EXHAUSTED(100, "IP pool exhausted"),
    ADDRESS_IN_USE(101, "Requested address in use"),
    NOT_OWNER(102, "Attachment owned by another pod"),
    NO_LEASE(103, "No lease for this attachment"),
    LEASE_MISMATCH(104, "Lease differs from the previous result"),
    POD_NOT_CONFIRMED(105, "Pod identity not confirmed by the cluster"),
    CALLER_REFUSED(106, "Caller not permitted by the Isthmus gateway"),
    INTERNAL(110, "Internal error in the Isthmus gateway");

    private final int code;
    private final String message;

    CniErrorCode(int code, String message) {
        this.code = code;
        this.message = message;
    }

    public int code() {
        return code;
    }

    /** The short {@code msg} of the CNI error result. */
    public String message() {
        return message;
    }

    static CniErrorCode of(CniBackendError error) {
        return switch (error) {
            case POOL_EXHAUSTED -> POOL_EXHAUSTED;
            case UNKNOWN_POOL, BAD_REQUEST -> INVALID_CONFIG;
            case ADDRESS_IN_USE -> ADDRESS_IN_USE;
            case NOT_OWNER -> NOT_OWNER;
            case POD_NOT_CONFIRMED -> POD_NOT_CONFIRMED;
            case RESERVATION_EXPIRED, UNAVAILABLE -> TRY_AGAIN_LATER;
        };
    }
}
