package io.isthmus.gateway.pki;

import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509CRLHolder;

import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.CRLException;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * A certificate revocation list of the clusterset CA, as distributed to every gateway. Construction only checks that
 * the CRL has a CRL number; whether it is signed by <em>our</em> CA is {@link MeshTrust#updateCrl}'s job.
 */
public record SignedCrl(X509CRL crl) {
    public SignedCrl {
        Objects.requireNonNull(crl, "crl");
        numberOf(crl);
    }

    /** Parses PEM ({@code -----BEGIN X509 CRL-----}) or DER bytes, e.g. as received from a peer. */
    public static SignedCrl parse(String what, byte[] pemOrDer) {
        return new SignedCrl(Pem.crl(what, pemOrDer));
    }

    /** The CRL number extension: each new CRL of a CA has a higher one. */
    public BigInteger number() {
        return numberOf(crl);
    }

    public Set<BigInteger> revokedSerials() {
        Set<? extends X509CRLEntry> entries = crl.getRevokedCertificates();
        return entries == null ? Set.of()
                : entries.stream().map(X509CRLEntry::getSerialNumber).collect(Collectors.toCollection(TreeSet::new));
    }

    public byte[] der() {
        try {
            return crl.getEncoded();
        } catch (CRLException e) {
            throw new PkiException("cannot encode CRL of " + crl.getIssuerX500Principal(), e);
        }
    }

    public String pem() {
        return Pem.crl(crl);
    }

    static BigInteger numberOf(X509CRL crl) {
        Extension extension;
        try {
            extension = new X509CRLHolder(crl.getEncoded()).getExtension(Extension.cRLNumber);
        } catch (CRLException | IOException e) {
            throw new PkiException("cannot decode CRL of " + crl.getIssuerX500Principal(), e);
        }
        if (extension == null) {
            throw new PkiException("CRL of " + crl.getIssuerX500Principal()
                    + " has no CRL number extension; cannot tell whether it is newer than the current one");
        }
        return CRLNumber.getInstance(extension.getParsedValue()).getCRLNumber();
    }

    @Override
    public String toString() {
        return "SignedCrl[issuer=" + crl.getIssuerX500Principal() + ", number=" + number()
                + ", revoked=" + revokedSerials().size() + ", thisUpdate=" + crl.getThisUpdate().toInstant() + "]";
    }
}
