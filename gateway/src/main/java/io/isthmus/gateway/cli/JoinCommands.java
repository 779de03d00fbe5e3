package io.isthmus.gateway.cli;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.k8s.JoinSecret;
import io.isthmus.k8s.KubernetesClients;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.JoinClient;
import io.isthmus.gateway.pki.JoinRefusedException;
import io.isthmus.gateway.pki.JoinService;
import io.isthmus.gateway.pki.JoinToken;
import io.isthmus.gateway.pki.JoinTokens;
import io.isthmus.gateway.pki.PkiException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.isthmus.gateway.cli.CaDir.pki;

/**
 * Joining a cluster without copying key files: the CA holder prints a one-time token ({@code mesh join-token}) and
 * serves joins ({@code mesh serve-joins}); the new cluster runs {@code isthmus join TOKEN}, which makes its key
 * locally and receives its certificate, the CA certificate, the CRL and its first peers.
 */
final class JoinCommands {
    private JoinCommands() {
    }

    static final String DEFAULT_SERVICE = "https://127.0.0.1:7443";

    @Command(name = "join-token", description = {
            "Print a one-time token that lets cluster ID join: isthmus join TOKEN on the new cluster redeems it at the",
            "join service (isthmus mesh serve-joins). The token is a credential until used or expired."})
    static final class JoinTokenCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Option(names = "--cluster", required = true, paramLabel = "ID", description = "The cluster that joins.")
        String cluster;

        @Option(names = "--ttl", defaultValue = "1h", paramLabel = "N(m|h|d)",
                description = "How long the token can be used (default: ${DEFAULT-VALUE}; at most 7d).")
        String ttl;

        @Option(names = "--days", defaultValue = "90", paramLabel = "N",
                description = "Validity of the certificate the join issues, in days (default: ${DEFAULT-VALUE}).")
        int days;

        @Option(names = "--service", defaultValue = DEFAULT_SERVICE, paramLabel = "URL",
                description = "Where the new cluster reaches isthmus mesh serve-joins (default: ${DEFAULT-VALUE}).")
        String service;

        @Option(names = "--peer", paramLabel = "HOST:PORT",
                description = "A peering address of a cluster already in the mesh, given to the new one; repeat.")
        List<String> peers = new ArrayList<>();

        @Override
        public Integer call() {
            ClusterId id;
            try {
                id = ClusterId.of(cluster);
            } catch (InvalidFieldException e) {
                throw e.as("--cluster");
            }
            if (days < 1 || days > 3650) {
                throw new InvalidFieldException("--days", days, "must be between 1 and 3650");
            }
            URI serviceUri = serviceUri(service);
            List<String> checkedPeers = peers.stream().map(peer -> HostPort.parse("--peer", peer).toString()).toList();
            Duration lifetime = TokenCommand.Create.ttl("--ttl", ttl);
            JoinToken token = pki(() -> new JoinTokens(ClustersetCa.load(ca.dir))
                    .create(id, lifetime, Duration.ofDays(days), serviceUri, checkedPeers));
            spec.commandLine().getOut().println(token.text());
            spec.commandLine().getErr().println("made join token " + token.id() + " for cluster " + id + ", usable once "
                    + "until " + Instant.now().plus(lifetime).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                    + " at " + serviceUri + " (start isthmus mesh serve-joins there); on the new cluster: "
                    + "isthmus join TOKEN --tls-dir DIR");
            return 0;
        }

        private static URI serviceUri(String text) {
            try {
                URI uri = URI.create(text);
                if ("https".equals(uri.getScheme()) && uri.getHost() != null && uri.getPort() > 0) {
                    return uri;
                }
            } catch (IllegalArgumentException e) {
                // reported below with the expected shape
            }
            throw new InvalidFieldException("--service", text, "expected https://HOST:PORT, where serve-joins listens");
        }
    }

    @Command(name = "serve-joins", description = {
            "Serve joins for the tokens of this CA until stopped (or --max-joins / --for): HTTPS on --listen, with a",
            "short-lived certificate of this CA; every request is authenticated by its token."})
    static final class ServeJoins implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Option(names = "--listen", defaultValue = "127.0.0.1:7443", paramLabel = "HOST:PORT",
                description = "Where to listen (default: ${DEFAULT-VALUE}; loopback unless you say otherwise).")
        String listen;

        @Option(names = "--name", paramLabel = "HOST",
                description = "A host name or address the new clusters use in --service, for the certificate; repeat.")
        List<String> names = new ArrayList<>();

        @Option(names = "--max-joins", paramLabel = "N", description = "Stop after N successful joins.")
        Integer maxJoins;

        @Option(names = "--for", defaultValue = "1h", paramLabel = "N(m|h|d)",
                description = "Stop after this long (default: ${DEFAULT-VALUE}; at most 1d).")
        String lifetime;

        @Override
        public Integer call() throws InterruptedException {
            HostPort address = HostPort.parse("--listen", listen);
            Duration serving = TokenCommand.Create.ttl("--for", lifetime);
            if (serving.compareTo(Duration.ofDays(1)) > 0) {
                throw new InvalidFieldException("--for", lifetime, "at most 1d: the service's certificate lives that long");
            }
            if (maxJoins != null && maxJoins < 1) {
                throw new InvalidFieldException("--max-joins", maxJoins, "must be at least 1");
            }
            List<String> hosts = new ArrayList<>(names);
            hosts.add(address.host());
            ClustersetCa loaded = pki(() -> ClustersetCa.load(ca.dir));
            PrintWriter out = spec.commandLine().getOut();
            CountDownLatch done = new CountDownLatch(maxJoins == null ? Integer.MAX_VALUE : maxJoins);
            AtomicInteger joined = new AtomicInteger();
            try (JoinService service = pki(() -> JoinService.start(address.toSocketAddress(),
                    loaded.joinServiceIdentity(hosts.stream().distinct().toList(), serving.plusMinutes(5)),
                    new JoinTokens(loaded), outcome -> {
                        out.println(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + " "
                                + (outcome.joined() ? "joined " : "refused ") + outcome.cluster() + ": " + outcome.detail());
                        out.flush();
                        if (outcome.joined()) {
                            joined.incrementAndGet();
                            done.countDown();
                        }
                    }))) {
                out.println("serving joins for the CA in " + ca.dir + " on https://" + HostPort.format(service.address())
                        + " (certificate names " + hosts.stream().distinct().toList() + ") for " + lifetime
                        + (maxJoins == null ? "" : " or " + maxJoins + " joins"));
                out.flush();
                done.await(serving.toMillis(), TimeUnit.MILLISECONDS);
            }
            out.println("stopped serving joins after " + joined.get() + " joins");
            return 0;
        }
    }

    @Command(name = "join", description = {
            "Join this cluster to the clusterset with a token from isthmus mesh join-token: makes the cluster's key",
            "here, gets its certificate, the CA certificate, the CRL and the peers' addresses into --tls-dir."})
    static final class JoinCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", arity = "0..1", paramLabel = "TOKEN", description = "The token (or use --token-file).")
        String token;

        @Option(names = "--token-file", paramLabel = "FILE", description = "Read the token from FILE (e.g. a mounted Secret).")
        Path tokenFile;

        @Option(names = "--tls-dir", required = true, paramLabel = "DIR", description = "The gateway's isthmus.tls.dir.")
        Path tlsDir;

        @Option(names = "--force", description = "Join even if DIR already holds the cluster's certificate (replaces its key).")
        boolean force;

        @Option(names = "--kubernetes-secret", paramLabel = "NAMESPACE/NAME",
                description = "Also store the result in this Secret (the gateways' tls dir, e.g. isthmus-system/isthmus-tls); "
                        + "a Secret already holding the cluster's certificate is left alone.")
        String kubernetesSecret;

        @Option(names = "--kubernetes-master", defaultValue = "", paramLabel = "URL",
                description = "The API server (default: the pod's service account, else ~/.kube/config).")
        String kubernetesMaster;

        @Override
        public Integer call() {
            JoinToken parsed = JoinToken.parse(tokenFile == null ? "TOKEN" : "--token-file", tokenText());
            if (kubernetesSecret != null) {
                return joinIntoSecret(parsed, JoinSecret.parse("--kubernetes-secret", kubernetesSecret));
            }
            print(join(parsed));
            return 0;
        }

        /** Idempotent for a Job that runs again: a Secret that holds the certificate already is the join done. */
        private int joinIntoSecret(JoinToken parsed, JoinSecret secret) {
            try (KubernetesClient client = KubernetesClients.connect(kubernetesMaster)) {
                if (secret.holdsCertificate(client, parsed.cluster())) {
                    spec.commandLine().getOut().println("Secret " + secret + " already holds cluster " + parsed.cluster()
                            + "'s certificate: nothing to do (the token was not used)");
                    return 0;
                }
                JoinClient.Joined joined = join(parsed);
                secret.write(client, List.of(joined.files().certificate(), joined.files().privateKey(),
                        joined.files().caCertificate(), joined.files().crl(), joined.peersFile()));
                print(joined);
                spec.commandLine().getOut().println("stored in Secret " + secret);
                return 0;
            } catch (KubernetesClientException | IllegalStateException e) {
                throw new CliException(e.getMessage());
            }
        }

        private JoinClient.Joined join(JoinToken parsed) {
            try {
                return JoinClient.join(parsed, tlsDir, force, Duration.ofSeconds(15));
            } catch (JoinRefusedException e) {
                throw new CliException("the join service refused: " + e.getMessage());
            } catch (PkiException e) {
                throw new CliException(e.getMessage());
            }
        }

        private void print(JoinClient.Joined joined) {
            spec.commandLine().getOut().println("joined cluster " + joined.cluster() + ": certificate serial "
                    + joined.certificate().getSerialNumber().toString(16) + ", valid until "
                    + joined.certificate().getNotAfter().toInstant() + ", in " + joined.files().certificate().getParent()
                    + " (the private key was made here and never left); peers " + joined.peers() + " in "
                    + joined.peersFile() + "; start the gateway with isthmus.tls.dir = " + tlsDir);
        }

        private String tokenText() {
            if ((token == null) == (tokenFile == null)) {
                throw new InvalidFieldException("TOKEN", token == null ? "" : "and --token-file " + tokenFile,
                        "give the token either as the argument or with --token-file");
            }
            if (token != null) {
                return token;
            }
            try {
                return Files.readString(tokenFile, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new InvalidFieldException("--token-file", tokenFile, "cannot read it: " + e.getMessage());
            }
        }
    }
}
