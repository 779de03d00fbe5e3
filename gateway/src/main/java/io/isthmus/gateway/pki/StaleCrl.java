package io.isthmus.gateway.pki;

import io.isthmus.api.InvalidFieldException;

import java.util.Locale;

/**
 * What peering does with a CRL past its nextUpdate ({@code isthmus.peering.revocation.stale-crl}). WARN keeps using
 * it and says so (status, metric, log); REFUSE also refuses every new peering handshake until a newer CRL is in
 * force, so a gateway cut off from CRL updates cannot be kept trusting a cluster revoked since. Links already up
 * stay up either way, and the replicas' own transport never refuses for this (a stale CRL must not split them).
 */
public enum StaleCrl {
    WARN, REFUSE;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static StaleCrl parse(String field, String text) {
        for (StaleCrl policy : values()) {
            if (policy.label().equals(text)) {
                return policy;
            }
        }
        throw new InvalidFieldException(field, text, "expected warn or refuse");
    }
}
