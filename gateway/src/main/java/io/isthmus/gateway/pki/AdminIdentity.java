package io.isthmus.gateway.pki;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.pki.CertificateRejectedException.Rule;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The identity rule of an admin API client certificate: it names one user and one role, as the URI SAN
 * {@code isthmus-admin:<role>:<user>}, and its subject CN is that user. It can never be taken for a gateway's
 * peering certificate nor the other way round: an admin certificate has no {@code isthmus://cluster/} URI and only
 * the clientAuth EKU (peering needs both serverAuth and clientAuth and the cluster URI), and a certificate with a
 * cluster URI is refused here whatever else it holds.
 *
 * @param role the role's label (viewer, operator, admin); which labels mean what is the admin API's business
 */
public record AdminIdentity(String user, String role) {
    public static final String URI_SCHEME = "isthmus-admin";
    public static final String URI_PREFIX = URI_SCHEME + ":";
    /** The same user names tokens take. */
    private static final Pattern USER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9@._-]{0,62}");
    private static final Pattern ROLE = Pattern.compile("[a-z][a-z-]{0,31}");
    private static final int SAN_URI = 6;

    public AdminIdentity {
        if (user == null || !USER.matcher(user).matches()) {
            throw new InvalidFieldException("--user", user,
                    "expected 1-63 letters, digits, '@', '.', '_' or '-', starting with a letter or digit");
        }
        if (role == null || !ROLE.matcher(role).matches()) {
            throw new InvalidFieldException("--role", role, "expected a role label such as viewer, operator or admin");
        }
    }

    public String uri() {
        return URI_PREFIX + role + ":" + user;
    }

    /**
     * The user and role {@code certificate} names. Rejects (rule {@code identity}) a certificate that names a
     * cluster (a gateway's peering certificate), one without exactly one {@code isthmus-admin:} URI SAN of the form
     * {@code isthmus-admin:<role>:<user>}, or whose subject CN is not that user. Does not check the issuer,
     * validity or revocation: {@link MeshTrust#checkAdmin} does.
     */
    public static AdminIdentity of(X509Certificate certificate) throws CertificateRejectedException {
        String subject = MeshProtocol.describe(certificate);
        Collection<List<?>> names;
        try {
            names = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject,
                    "subject alternative names cannot be parsed: " + e.getMessage());
        }
        List<String> admin = new ArrayList<>();
        List<String> clusters = new ArrayList<>();
        if (names != null) {
            for (List<?> name : names) {
                if (name.size() == 2 && name.get(0) instanceof Integer type && type == SAN_URI
                        && name.get(1) instanceof String uri) {
                    String lower = uri.toLowerCase(Locale.ROOT);
                    if (lower.startsWith(URI_PREFIX)) {
                        admin.add(uri);
                    } else if (lower.startsWith(PeerIdentity.URI_SCHEME + ":")) {
                        clusters.add(uri);
                    }
                }
            }
        }
        if (!clusters.isEmpty()) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject, "is a gateway's peering certificate ("
                    + clusters + "), not an admin certificate (`isthmus mesh issue --role ROLE --user NAME` makes one)");
        }
        if (admin.size() != 1) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject, admin.isEmpty()
                    ? "has no '" + URI_PREFIX + "<role>:<user>' URI subject alternative name: not an admin certificate"
                    : "has " + admin.size() + " admin URI subject alternative names " + admin + "; expected exactly one");
        }
        String uri = admin.getFirst();
        String[] parts = uri.substring(URI_PREFIX.length()).split(":", -1);
        AdminIdentity identity;
        try {
            if (parts.length != 2) {
                throw new InvalidFieldException("uri", uri, "expected " + URI_PREFIX + "<role>:<user>");
            }
            identity = new AdminIdentity(parts[1], parts[0]);
        } catch (InvalidFieldException e) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject,
                    "URI subject alternative name '" + uri + "' is not of the form '" + URI_PREFIX
                            + "<role>:<user>': " + e.getMessage());
        }
        RDN[] cns = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN);
        if (cns.length != 1 || cns[0].isMultiValued() || !(cns[0].getFirst().getValue() instanceof ASN1String cn)
                || !cn.getString().equals(identity.user())) {
            throw new CertificateRejectedException(Rule.IDENTITY, subject,
                    "subject must have exactly one CN, the user '" + identity.user() + "' of '" + uri + "'");
        }
        return identity;
    }

    @Override
    public String toString() {
        return user + " (" + role + ")";
    }
}
