package io.isthmus.dns;

/**
 * One choice the server made at start about how it serves queries, and why; fixed for the server's life.
 * {@link DnsServer#udpSyscalls()} says how UDP datagrams move (batched system calls or one datagram per call),
 * {@link DnsServer#answerPath()} whether zone names are answered from precomputed bytes or through the handler chain.
 *
 * @param fast   whether this is the fast choice
 * @param mode   what is used, e.g. {@code recvmmsg(batch=32, threads=2, SO_REUSEPORT sockets=2)} or {@code nio(threads=2)}
 * @param reason why the fast choice is not used, naming what to change; empty when {@code fast}
 */
public record ServingPath(boolean fast, String mode, String reason) {
    public ServingPath {
        if (mode == null || mode.isBlank()) {
            throw new IllegalArgumentException("serving path mode must not be empty");
        }
        reason = reason == null ? "" : reason;
        if (!fast && reason.isBlank()) {
            throw new IllegalArgumentException("serving path " + mode + " is not the fast one and needs a reason");
        }
    }

    static ServingPath fast(String mode) {
        return new ServingPath(true, mode, "");
    }

    static ServingPath fallback(String mode, String reason) {
        return new ServingPath(false, mode, reason);
    }

    /** {@code mode}, or {@code mode: reason}. */
    public String text() {
        return reason.isEmpty() ? mode : mode + ": " + reason;
    }
}
