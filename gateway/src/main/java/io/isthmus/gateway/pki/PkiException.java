package io.isthmus.gateway.pki;

/**
 * Bad PKI input or state that is not a peer's handshake: a missing or unreadable file, a key that does not match its
 * certificate, a CA directory that already exists, a CRL from another CA. The message names the file or value and
 * says why, so the operator can fix it without reading code.
 */
public final class PkiException extends RuntimeException {
    public PkiException(String message) {
        super(message);
    }

    public PkiException(String message, Throwable cause) {
        super(message + (cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage()), cause);
    }
}
