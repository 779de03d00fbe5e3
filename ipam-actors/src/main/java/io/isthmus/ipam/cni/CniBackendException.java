package io.isthmus.ipam.cni;

/** A refusal by the {@link CniBackend}: what kind, and a sentence for the operator (it reaches the CNI error). */
public final class CniBackendException extends RuntimeException {
    private final CniBackendError error;

    public CniBackendException(CniBackendError error, String detail) {
        super(detail);
        this.error = error;
    }

    public CniBackendError error() {
        return error;
    }

    public String detail() {
        return getMessage();
    }
}
