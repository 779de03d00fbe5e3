package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.pki.CertificateRejectedException.Rule;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.apache.pekko.remote.artery.tcp.SSLEngineProviderSetup;
import scala.Option;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * TLS for the Pekko cluster of one cluster's replicas (Artery {@code tls-tcp}): the gateway's own certificate and key
 * (the very {@link KeyMaterial} peering uses, so rotation applies to both) and the clusterset trust (the very CRL
 * peering holds, see {@link MeshTrust#reportingTo}), and one rule more: the peer's certificate must name this
 * gateway's own cluster. The replicas of east all hold east's certificate; west's (valid for peering), a revoked or
 * expired east, a certificate of another CA, none at all, or plain TCP cannot join. Both sides check, in the
 * handshake (trust manager) and again when Pekko verifies the session.
 * <p>
 * Open connections are re-checked too: every engine compares, on each record it wraps or unwraps, the CRL in force
 * with the one it last checked and the clock with the peer certificate's expiry; a connection whose peer became
 * revoked or expired fails at once (Artery reconnects, and the new handshake is refused).
 */
public final class ReplicaTls implements SSLEngineProvider {
    /** One refusal, for the log and the metric: a fixed {@code rule} label and a message saying what and why. */
    public record Refusal(String rule, String message) {
    }

    /** Rule label of a failed handshake that reached no certificate check (not TLS, no certificate, TLS 1.2…). */
    public static final String HANDSHAKE = "handshake";

    private final MeshTrust trust;
    private final KeyMaterial keys;
    private final ClusterId cluster;
    private final Consumer<Refusal> refusals;
    private final SSLContext server;
    private final SSLContext client;

    private ReplicaTls(MeshTrust trust, KeyMaterial keys, Consumer<Refusal> refusals) {
        this.keys = Objects.requireNonNull(keys, "keys");
        this.cluster = keys.cluster();
        this.refusals = Objects.requireNonNull(refusals, "refusals");
        this.trust = trust.reportingTo(rejected -> refusals.accept(new Refusal(rejected.rule().label(), rejected.getMessage())));
        X509ExtendedTrustManager sameCluster = new SameClusterTrustManager(this.trust, cluster);
        this.server = MeshSslContext.create(keys.keyManager(), sameCluster, true);
        this.client = MeshSslContext.create(keys.keyManager(), sameCluster, false);
    }

    /**
     * Replica TLS from the gateway's key material and trust; {@code refusals} hears of every connection refused or
     * cut (from Pekko's threads: keep it quick).
     */
    public static ReplicaTls of(MeshTrust trust, KeyMaterial keys, Consumer<Refusal> refusals) {
        return new ReplicaTls(trust, keys, refusals);
    }

    /** The setup that hands this provider to the ActorSystem (instead of {@code ssl-engine-provider} from config). */
    public SSLEngineProviderSetup setup() {
        return SSLEngineProviderSetup.create(system -> this);
    }

    /** The cluster whose replicas may connect: this gateway's own. */
    public ClusterId cluster() {
        return cluster;
    }

    /**
     * Passes if {@code leaf} names {@code cluster}; fails with rule {@code unexpected-cluster} otherwise. The leaf has
     * already passed every rule of {@link MeshTrust} (CA, validity, CRL, usages, a well-formed identity).
     */
    static void requireCluster(ClusterId cluster, X509Certificate leaf) throws CertificateRejectedException {
        ClusterId named = PeerIdentity.of(leaf);
        if (!named.equals(cluster)) {
            throw new CertificateRejectedException(Rule.UNEXPECTED_CLUSTER, MeshProtocol.describe(leaf),
                    "names cluster " + named + "; only replicas of cluster " + cluster + " may join its Pekko cluster");
        }
    }

    @Override
    public SSLEngine createServerSSLEngine(String hostname, int port) {
        return new GuardedEngine(server.createSSLEngine(), trust, this::handshakeFailed, "an inbound replica connection to " + hostname + ":" + port);
    }

    @Override
    public SSLEngine createClientSSLEngine(String hostname, int port) {
        return new GuardedEngine(client.createSSLEngine(hostname, port), trust, this::handshakeFailed, "the replica connection to " + hostname + ":" + port);
    }

    /** We dialled: the session's server certificate, checked again with the current CRL, must name our cluster. */
    @Override
    public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
        return verify(session);
    }

    /** We accepted: the same for the client certificate. */
    @Override
    public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
        return verify(session);
    }

    private Option<Throwable> verify(SSLSession session) {
        try {
            X509Certificate leaf = PeerIdentity.peerCertificate(session);
            trust.verifyPeer(session);
            try {
                requireCluster(cluster, leaf);
            } catch (CertificateRejectedException e) {
                trust.reject(e);
                throw e;
            }
            return Option.empty();
        } catch (CertificateRejectedException e) {
            return Option.apply(e); // reported by the trust
        }
    }

    /** The trust this transport checks with (tests replace its CRL). */
    MeshTrust trust() {
        return trust;
    }

    private void handshakeFailed(String message) {
        refusals.accept(new Refusal(HANDSHAKE, message));
    }

    @Override
    public String toString() {
        return "ReplicaTls[" + cluster + ", " + keys + "]";
    }

    /**
     * What {@code pekko.remote.artery.ssl.ssl-engine-provider} names, so that an ActorSystem started without the
     * {@link #setup()} fails at start instead of falling back to Pekko's keystore provider (or to anything plain).
     */
    public static final class NotConfigured implements SSLEngineProvider {
        public NotConfigured(ActorSystem system) {
            throw new IllegalStateException("replica TLS is not set up: this ActorSystem (" + system.name()
                    + ") was started without the ReplicaTls setup; a gateway replica makes it from its tls dir "
                    + "(isthmus.tls.dir) and never runs Artery without TLS");
        }

        @Override
        public SSLEngine createServerSSLEngine(String hostname, int port) {
            throw new IllegalStateException("unreachable");
        }

        @Override
        public SSLEngine createClientSSLEngine(String hostname, int port) {
            throw new IllegalStateException("unreachable");
        }

        @Override
        public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
            throw new IllegalStateException("unreachable");
        }

        @Override
        public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
            throw new IllegalStateException("unreachable");
        }
    }

    /** The mesh trust manager, then the replica rule: the certificate names our own cluster. */
    private static final class SameClusterTrustManager extends X509ExtendedTrustManager {
        private final MeshTrust trust;
        private final X509ExtendedTrustManager mesh;
        private final ClusterId cluster;

        SameClusterTrustManager(MeshTrust trust, ClusterId cluster) {
            this.trust = trust;
            this.mesh = trust.trustManager();
            this.cluster = cluster;
        }

        private void sameCluster(X509Certificate[] chain) throws CertificateRejectedException {
            try {
                requireCluster(cluster, chain[0]);
            } catch (CertificateRejectedException e) {
                trust.reject(e);
                throw e;
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            mesh.checkClientTrusted(chain, authType, engine);
            sameCluster(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            mesh.checkServerTrusted(chain, authType, engine);
            sameCluster(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            mesh.checkClientTrusted(chain, authType, socket);
            sameCluster(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            mesh.checkServerTrusted(chain, authType, socket);
            sameCluster(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            mesh.checkClientTrusted(chain, authType);
            sameCluster(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            mesh.checkServerTrusted(chain, authType);
            sameCluster(chain);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return mesh.getAcceptedIssuers();
        }
    }
}
