package io.isthmus.gateway.pki;

import java.math.BigInteger;
import java.time.Instant;

/** One admin certificate in the CA's index, for listings ({@link ClustersetCa#issuedAdmins()}). */
public record IssuedAdminEntry(AdminIdentity identity, BigInteger serial, Instant notBefore, Instant notAfter,
                               boolean revoked) {
}
