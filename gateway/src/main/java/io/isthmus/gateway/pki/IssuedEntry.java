package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;

import java.math.BigInteger;
import java.time.Instant;

/** One certificate in the CA's index of issued certificates, for listings ({@link ClustersetCa#issued()}). */
public record IssuedEntry(ClusterId cluster, BigInteger serial, Instant notBefore, Instant notAfter, boolean revoked) {
}
