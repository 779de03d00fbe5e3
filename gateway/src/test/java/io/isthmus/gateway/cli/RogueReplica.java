package io.isthmus.gateway.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.BootstrapSetup;
import org.apache.pekko.actor.setup.ActorSystemSetup;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.apache.pekko.remote.artery.tcp.SSLEngineProviderSetup;
import scala.Option;

import javax.net.ssl.KeyManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.StringJoiner;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A hostile node for {@link RogueReplicaTest}, run as its own JVM: one Pekko cluster node per argument, each joining
 * the seed nodes as a real replica would (system name {@code isthmus}), but with whatever it was given: a certificate
 * and key of its choosing (presented as is, no checks of ours), none at all, or plain TCP. It trusts any server, so
 * that whatever refuses it is the replica's side. Prints its own view whenever it changes:
 * {@code ROGUE <name> self=<status> members=[<address> <status>, ...]}. Exits when its stdin closes.
 * <p>
 * Usage: {@code RogueReplica SEED[,SEED...] NAME:PORT:tcp | NAME:PORT:tls | NAME:PORT:tls:CERT:KEY ...}
 */
public final class RogueReplica {
    private RogueReplica() {
    }

    public static void main(String[] args) throws Exception {
        List<String> seeds = List.of(args[0].split(","));
        List<Node> nodes = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String[] spec = args[i].split(":", 5);
            nodes.add(new Node(spec[0], start(spec[0], Integer.parseInt(spec[1]), spec[2],
                    spec.length > 3 ? Path.of(spec[3]) : null, spec.length > 4 ? Path.of(spec[4]) : null, seeds)));
        }
        var printer = Executors.newSingleThreadScheduledExecutor();
        String[] last = new String[nodes.size()];
        printer.scheduleWithFixedDelay(() -> {
            for (int i = 0; i < nodes.size(); i++) {
                String line = nodes.get(i).view();
                if (!line.equals(last[i])) {
                    last[i] = line;
                    System.out.println(line);
                }
            }
        }, 0, 200, TimeUnit.MILLISECONDS);
        while (System.in.read() >= 0) {
            // until the test closes our stdin (or dies)
        }
        printer.shutdownNow();
        nodes.forEach(node -> node.system().terminate());
        System.exit(0);
    }

    /** One node; its ActorSystem is named "isthmus", as a replica's must be to join. */
    private record Node(String name, ActorSystem system) {
        String view() {
            Cluster cluster = Cluster.get(system);
            TreeSet<String> members = new TreeSet<>();
            for (Member member : cluster.state().getMembers()) {
                members.add(member.address() + " " + member.status());
            }
            StringJoiner joined = new StringJoiner(", ", "[", "]");
            members.forEach(joined::add);
            return "ROGUE " + name + " self=" + cluster.selfMember().status() + " members=" + joined;
        }
    }

    private static ActorSystem start(String name, int port, String transport, Path certificate, Path key,
                                     List<String> seeds) throws Exception {
        StringJoiner seedList = new StringJoiner("\", \"", "[\"", "\"]");
        seeds.forEach(seedList::add);
        Config config = ConfigFactory.parseString("""
                pekko {
                  actor.provider = cluster
                  remote.artery.transport = %s
                  remote.artery.canonical { hostname = "127.0.0.1", port = %d }
                  # as the replicas have it: the joining check compares it (a compatibility check, not security)
                  cluster { seed-nodes = %s, jmx.enabled = off,
                    downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider" }
                  coordinated-shutdown.exit-jvm = off
                  loglevel = INFO
                }
                """.formatted(transport.equals("tls") ? "tls-tcp" : "tcp", port, seedList))
                .withFallback(ConfigFactory.defaultReference());
        ActorSystemSetup setup = ActorSystemSetup.create(BootstrapSetup.create(config));
        if (transport.equals("tls")) {
            SSLContext context = context(certificate, key);
            setup = setup.withSetup(SSLEngineProviderSetup.create(system -> new AnythingGoes(context)));
        }
        ActorSystem system = ActorSystem.create("isthmus", setup);
        System.out.println("ROGUE " + name + " started on 127.0.0.1:" + port + " (" + transport
                + (certificate != null ? ", " + certificate.getFileName() : "") + ")");
        return system;
    }

    private static SSLContext context(Path certificate, Path key) throws Exception {
        KeyManager[] keyManagers = null;
        if (certificate != null) {
            var factory = CertificateFactory.getInstance("X.509");
            X509Certificate[] chain = factory.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(certificate)))
                    .toArray(X509Certificate[]::new);
            String pem = Files.readString(key).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            PrivateKey privateKey = KeyFactory.getInstance(chain[0].getPublicKey().getAlgorithm())
                    .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
            keyManagers = new KeyManager[] {new Always(chain, privateKey)};
        }
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keyManagers, new javax.net.ssl.TrustManager[] {new TrustAll()}, new SecureRandom());
        return context;
    }

    /** Presents what it has, accepts any server and any client, verifies nothing. */
    private record AnythingGoes(SSLContext context) implements SSLEngineProvider {
        @Override
        public SSLEngine createServerSSLEngine(String hostname, int port) {
            SSLEngine engine = context.createSSLEngine();
            engine.setUseClientMode(false);
            engine.setWantClientAuth(true);
            return engine;
        }

        @Override
        public SSLEngine createClientSSLEngine(String hostname, int port) {
            SSLEngine engine = context.createSSLEngine(hostname, port);
            engine.setUseClientMode(true);
            return engine;
        }

        @Override
        public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
            return Option.empty();
        }

        @Override
        public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
            return Option.empty();
        }
    }

    /** Presents its certificate whatever the server asks for (the JDK's own key manager sends none to a server
     *  whose CertificateRequest names another CA: the attacker would not be stopped by us then). */
    private static final class Always extends X509ExtendedKeyManager {
        private final X509Certificate[] chain;
        private final PrivateKey key;

        Always(X509Certificate[] chain, PrivateKey key) {
            this.chain = chain;
            this.key = key;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return "rogue";
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return "rogue";
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {"rogue"};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return "rogue";
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return new String[] {"rogue"};
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return "rogue";
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return chain.clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return key;
        }
    }

    private static final class TrustAll extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
