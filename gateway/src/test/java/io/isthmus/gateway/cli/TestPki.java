package io.isthmus.gateway.cli;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.pki.ClustersetCa;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** A clusterset CA for tests, issuing each gateway's peering certificate into its tls dir. */
final class TestPki {
    private final ClustersetCa ca;

    TestPki(Path caDir) {
        this.ca = Files.exists(caDir.resolve("ca.crt")) ? ClustersetCa.load(caDir) : ClustersetCa.init(caDir);
    }

    /** Writes {@code cluster}'s certificate, key, the CA certificate and CRL into {@code tlsDir}. */
    TestPki issue(String cluster, Path tlsDir) {
        ca.issue(ClusterId.of(cluster), Duration.ofDays(1)).writeTo(tlsDir);
        return this;
    }

    ClustersetCa ca() {
        return ca;
    }
}
