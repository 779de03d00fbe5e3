package io.isthmus.gateway.pki;

import java.time.Instant;
import java.util.Optional;

/** The CRL in force and the way an operator replaces it: what the admin API may see and do of the mesh's trust. */
public interface Revocations {
    /** Takes a newer CRL signed by the clusterset CA; throws {@link PkiException} for any other. */
    SignedCrl acceptCrl(byte[] pemOrDer);

    SignedCrl currentCrl();

    /** When the CRL in force says a newer one is due; past it, the CRL is stale. */
    Optional<Instant> crlNextUpdate();

    /** What new peering handshakes do while the CRL is stale: go on (warn) or fail (refuse). */
    StaleCrl staleCrlPolicy();
}
