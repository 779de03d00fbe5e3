package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;

import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * Statements a cluster signs with the key of its clusterset certificate, for others to check later and elsewhere
 * (the address plan's acknowledgements: any cluster can verify that a majority agreed to a held segment). A
 * signature travels with the signer's certificate; checking it means: the certificate was issued by the clusterset
 * CA, names the cluster said to have signed, and its key verifies the signature. Validity and revocation are not
 * checked: a statement is about the moment it was made, and a certificate that expired or was revoked since does not
 * unmake it.
 */
public final class SignedStatements {
    private final X509Certificate ca;

    public SignedStatements(X509Certificate ca) {
        this.ca = ca;
    }

    /** The signature algorithm for a key: ECDSA with SHA-256 for the clusterset's EC keys. */
    static String algorithm(Key key) {
        return switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> key.getAlgorithm(); // EdDSA, Ed25519
        };
    }

    /** Why {@code signature} over {@code statement} is not {@code signer}'s, or empty when it is. */
    public Optional<String> whyNotSignedBy(ClusterId signer, byte[] statement, byte[] signature, byte[] certificateDer) {
        X509Certificate certificate;
        try {
            certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(certificateDer));
        } catch (GeneralSecurityException | ClassCastException e) {
            return Optional.of("the certificate that came with it does not parse: " + e.getMessage());
        }
        try {
            certificate.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            return Optional.of("its certificate (" + MeshProtocol.describe(certificate) + ") was not issued by the clusterset CA");
        }
        try {
            ClusterId named = PeerIdentity.of(certificate);
            if (!named.equals(signer)) {
                return Optional.of("its certificate names cluster " + named + ", not " + signer);
            }
        } catch (CertificateRejectedException e) {
            return Optional.of(e.getMessage());
        }
        try {
            Signature verifier = Signature.getInstance(algorithm(certificate.getPublicKey()));
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(statement);
            return verifier.verify(signature) ? Optional.empty() : Optional.of("the signature does not verify");
        } catch (GeneralSecurityException e) {
            return Optional.of("the signature does not verify: " + e.getMessage());
        }
    }
}
