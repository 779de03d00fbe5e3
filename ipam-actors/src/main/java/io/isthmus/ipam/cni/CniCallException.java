package io.isthmus.ipam.cni;

import java.util.Optional;

/**
 * A CNI call that fails with a CNI error result: the code, the sentence that goes into {@code details}, and the
 * backend's refusal when that is where it came from.
 */
final class CniCallException extends Exception {
    private final CniErrorCode code;
    private final CniBackendError backendError;

    CniCallException(CniErrorCode code, String details) {
        this(code, details, null);
    }

    CniCallException(CniBackendException refused) {
        this(CniErrorCode.of(refused.error()), refused.detail(), refused.error());
    }

    private CniCallException(CniErrorCode code, String details, CniBackendError backendError) {
        super(details);
        this.code = code;
        this.backendError = backendError;
    }

    CniErrorCode code() {
        return code;
    }

    String details() {
        return getMessage();
    }

    Optional<CniBackendError> backendError() {
        return Optional.ofNullable(backendError);
    }
}
