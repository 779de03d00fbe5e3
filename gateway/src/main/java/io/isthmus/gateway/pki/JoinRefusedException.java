package io.isthmus.gateway.pki;

/** A join the CA refuses, with the reason the joining side is shown (an unknown, spent or expired token, ...). */
public final class JoinRefusedException extends RuntimeException {
    public JoinRefusedException(String message) {
        super(message);
    }
}
