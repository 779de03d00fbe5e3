package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.pki.CertificateRejectedException.Rule;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The identity rule of the clusterset: a gateway certificate names exactly one cluster, as the URI SAN
 * {@code isthmus://cluster/<cluster-id>}, and its subject CN is the same cluster id. Hostnames play no part.
 */
public final class PeerIdentity {
    public static final String URI_SCHEME = "isthmus";
    public static final String URI_PREFIX = URI_SCHEME + "://cluster/";
    public static final String DNS_SUFFIX = ".clusterset.isthmus";

    private static final int SAN_URI = 6;

    private PeerIdentity() {
    }

    public static String uriFor(ClusterId cluster) {
        return URI_PREFIX + cluster.value();
    }

    public static String dnsNameFor(ClusterId cluster) {
        return cluster.value() + DNS_SUFFIX;
    }

    /**
     * The cluster {@code certificate} names. Rejects (rule {@code identity}) a certificate without exactly one
     * {@code isthmus:} URI SAN, with one that is not {@code isthmus://cluster/<dns-label>}, or whose subject CN is not
     * that same cluster id. Does not check the issuer, validity or revocation: {@link MeshTrust} does.
     */
    public static ClusterId of(X509Certificate certificate) throws CertificateRejectedException {
        String subject = MeshProtocol.describe(certificate);
        List<String> uris = isthmusUris(certificate, subject);
        if (uris.size() != 1) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject, uris.isEmpty()
                    ? "has no '" + URI_PREFIX + "<cluster-id>' URI subject alternative name"
                    : "has " + uris.size() + " isthmus URI subject alternative names " + uris + "; expected exactly one");
        }
        String uri = uris.getFirst();
        if (!uri.startsWith(URI_PREFIX)) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject,
                    "URI subject alternative name '" + uri + "' is not of the form '" + URI_PREFIX + "<cluster-id>'");
        }
        ClusterId cluster;
        try {
            cluster = ClusterId.of(uri.substring(URI_PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject,
                    "URI subject alternative name '" + uri + "' does not end in a cluster id: " + e.getMessage());
        }
        String cn = commonName(certificate, subject);
        if (!cluster.value().equals(cn)) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject,
                    "subject CN '" + cn + "' disagrees with URI subject alternative name '" + uri + "'");
        }
        return cluster;
    }

    /** The cluster named by the peer's certificate in an established session (see {@link #of(X509Certificate)}). */
    public static ClusterId of(SSLSession session) throws CertificateRejectedException {
        return of(peerCertificate(session));
    }

    static X509Certificate peerCertificate(SSLSession session) throws CertificateRejectedException {
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            throw new CertificateRejectedException(Rule.NO_CERTIFICATE, "of peer " + session.getPeerHost(),
                    "the TLS session has no verified peer certificate (" + e.getMessage() + ")");
        }
        if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
            throw new CertificateRejectedException(Rule.NO_CERTIFICATE, "of peer " + session.getPeerHost(),
                    "the TLS session has no X.509 peer certificate");
        }
        return leaf;
    }

    private static List<String> isthmusUris(X509Certificate certificate, String subject)
            throws CertificateRejectedException {
        Collection<List<?>> names;
        try {
            names = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject,
                    "subject alternative names cannot be parsed: " + e.getMessage());
        }
        List<String> uris = new ArrayList<>();
        if (names != null) {
            for (List<?> name : names) {
                if (name.size() == 2 && name.get(0) instanceof Integer type && type == SAN_URI
                        && name.get(1) instanceof String uri
                        && uri.regionMatches(true, 0, URI_SCHEME + ":", 0, URI_SCHEME.length() + 1)) {
                    uris.add(uri);
                }
            }
        }
        return uris;
    }

    private static String commonName(X509Certificate certificate, String subject) throws CertificateRejectedException {
        RDN[] cns = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN);
        if (cns.length != 1 || cns[0].isMultiValued()
                || !(cns[0].getFirst().getValue() instanceof ASN1String value)) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject,
                    "subject must have exactly one CN (the cluster id); it has " + cns.length);
        }
        return value.getString();
    }
}
