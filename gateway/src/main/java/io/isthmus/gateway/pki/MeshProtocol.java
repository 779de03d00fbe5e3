package io.isthmus.gateway.pki;

import java.security.cert.X509Certificate;

/** What every mesh TLS connection speaks and requires, and how its certificates are named in messages. */
public final class MeshProtocol {
    public static final String PROTOCOL = "TLSv1.3";
    static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

    private MeshProtocol() {
    }

    static String usageName(String oid) {
        return switch (oid) {
            case SERVER_AUTH -> "serverAuth";
            case CLIENT_AUTH -> "clientAuth";
            default -> oid;
        };
    }

    /** How a certificate is named in messages: subject DN and serial. */
    static String describe(X509Certificate certificate) {
        return "'" + certificate.getSubjectX500Principal().getName() + "' (serial 0x"
                + certificate.getSerialNumber().toString(16) + ")";
    }

}
