package io.isthmus.gateway.peering;

/** A peer broke the peering protocol; the link is closed and nothing it sent in that message is applied. */
public final class PeeringProtocolException extends RuntimeException {
    private final String reason;

    public PeeringProtocolException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    /** A short, fixed label for metrics. */
    public String reason() {
        return reason;
    }
}
