package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;

import java.security.cert.X509Certificate;
import java.util.List;

/** What a mesh trust manager asks of the trust it serves: the check of a peer's leaf, the CA, and where refusals go. */
interface LeafChecker {
    /** The cluster the leaf names, once it passed every rule for {@code requiredUsages} (first: the current role). */
    ClusterId check(X509Certificate[] chain, List<String> requiredUsages) throws CertificateRejectedException;

    X509Certificate caCertificate();

    /** Reports a refusal found outside {@link #check} (e.g. the negotiated protocol). */
    void reject(CertificateRejectedException e);
}
