package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.KeyFiles;
import io.isthmus.gateway.pki.KeyMaterial;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;

@Command(name = "demo", description = "Run three clusters (east, west, edge) on this machine, peered, with sample "
        + "exports, and show what each cluster's DNS answers. Ctrl-C stops them all.")
final class DemoCommand implements Callable<Integer> {
    static final List<String> CLUSTERS = List.of("east", "west", "edge");
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    /** Sample exports: [cluster, namespace, name, type, ports (comma-separated), ips (comma-separated)]. */
    private static final List<List<String>> SAMPLES = List.of(
            List.of("east", "shop", "cart", "ClusterSetIP", "http:80/TCP", "10.96.10.10"),
            List.of("east", "shop", "catalog", "ClusterSetIP", "http:80/TCP,grpc:9090/TCP", "10.96.10.11"),
            List.of("west", "shop", "catalog", "ClusterSetIP", "http:80/TCP,grpc:9090/TCP", "10.97.20.11"),
            List.of("west", "data", "postgres", "Headless", "5432/TCP", "10.244.2.15,10.244.2.16"),
            List.of("edge", "iot", "ingest", "ClusterSetIP", "mqtt:1883/TCP,coap:5683/UDP", "10.98.30.5"));

    /** cluster, kind, CIDR: what the samples' addresses lie in. */
    private static final List<List<String>> REGISTERED = List.of(
            List.of("east", "service", "10.96.0.0/16"),
            List.of("west", "service", "10.97.0.0/16"),
            List.of("west", "pod", "10.244.2.0/24"),
            List.of("edge", "service", "10.98.0.0/16"));

    @Spec
    CommandSpec spec;

    @Option(names = "--data", defaultValue = "demo-data", paramLabel = "DIR",
            description = "Where the three clusters keep their state; a second run resumes from it (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--base-port", defaultValue = "17000", paramLabel = "N",
            description = "Cluster i (0,1,2) uses ports N+10i .. N+10i+9, its admin HTTP on N+10i (default: ${DEFAULT-VALUE}).")
    int basePort;

    @Option(names = "--exit-when-ready", hidden = true,
            description = "Stop the clusters and exit after printing ready (for tests).")
    boolean exitWhenReady;

    @Override
    public Integer call() throws Exception {
        if (basePort < 1024 || basePort + 10 * CLUSTERS.size() > 65535) {
            throw new InvalidFieldException("--base-port", basePort, "must leave room for 30 ports between 1024 and 65535");
        }
        PrintWriter out = spec.commandLine().getOut();
        Instant started = Instant.now();
        out.println("demo: the three gateways' admin APIs take calls WITHOUT a token (auth off), on 127.0.0.1 only;"
                + " a real gateway needs one (isthmus token create)");
        List<GatewayProcess> gateways = new ArrayList<>();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread stopAll = new Thread(() -> {
            gateways.parallelStream().forEach(GatewayProcess::close);
            if (tunnel != null) {
                tunnel.close();
            }
            removeCniDir();
            stopped.countDown();
        }, "demo-stop");
        Runtime.getRuntime().addShutdownHook(stopAll);
        try {
            tunnelUnavailable = DemoTunnel.unavailable();
            if (tunnelUnavailable.isEmpty()) {
                tunnel = DemoTunnel.prepare(basePort);
            }
            issueCertificates(out);
            for (int i = 0; i < CLUSTERS.size(); i++) {
                Path dir = data.resolve(CLUSTERS.get(i)).toAbsolutePath();
                Files.createDirectories(dir);
                Path config = dir.resolve("gateway.conf");
                Files.writeString(config, configFor(i));
                gateways.add(GatewayProcess.start(CLUSTERS.get(i), config, adminPort(i), dir.resolve("gateway.log"),
                        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")));
                out.println("started " + CLUSTERS.get(i) + ": admin http://127.0.0.1:" + adminPort(i)
                        + ", dashboard " + dashboardUrl(i) + ", dns 127.0.0.1:" + dnsPort(i)
                        + ", log " + dir.resolve("gateway.log"));
            }
            for (GatewayProcess gateway : gateways) {
                gateway.awaitReady(READY_TIMEOUT);
            }
            registerRanges(out);
            exportSamples(out);
            Map<String, Map<String, String>> answers = awaitAnswers(Instant.now().plus(READY_TIMEOUT));
            out.println();
            out.println("DNS answers (A records), asked of each cluster's DNS server:");
            Table table = new Table(headers("NAME"));
            answers.forEach((name, byCluster) -> {
                List<Object> row = new ArrayList<>();
                row.add(name);
                CLUSTERS.forEach(c -> row.add(byCluster.get(c)));
                table.row(row.toArray());
            });
            out.print(table.render());
            out.println();
            out.println("Peering:");
            Table peering = new Table("CLUSTER", "PEER", "STATE", "EXPORTS", "IMPORTS");
            for (int i = 0; i < CLUSTERS.size(); i++) {
                JsonNode status = AdminClient.anonymous("http://127.0.0.1:" + adminPort(i)).get("api/v1/status").json();
                for (JsonNode peer : status.path("peers")) {
                    if ("outbound".equals(peer.path("direction").asText())) {
                        peering.row(CLUSTERS.get(i), peer.path("cluster").asText("?") + " (" + peer.path("address").asText() + ")",
                                peer.path("state").asText(), status.path("exports").path("count").asLong(),
                                status.path("imports").path("count").asLong());
                    }
                }
            }
            out.print(peering.render());
            out.println();
            showAddressPlan(out);
            out.println();
            showTunnel(out);
            out.println();
            out.printf("all three clusters peered and answering in %.1f s; try:%n",
                    Duration.between(started, Instant.now()).toMillis() / 1000.0);
            out.println("  open the dashboard " + dashboardUrl(0) + " (east's view, live; west " + dashboardUrl(1)
                    + ", edge " + dashboardUrl(2) + ")");
            out.println("  dig @127.0.0.1 -p " + dnsPort(1) + " cart.shop.svc.clusterset.local");
            out.println("  ./isthmus status --admin http://127.0.0.1:" + adminPort(0));
            out.println("  ./isthmus ipam leases --admin http://127.0.0.1:" + adminPort(0) + " --pool pods");
            out.println("  ./isthmus export --admin http://127.0.0.1:" + adminPort(2)
                    + " --namespace demo --name hello --port 8080/TCP --ip 10.98.30.9");
            out.println("Ctrl-C stops all three.");
            out.println("ready");
            out.flush();
            if (exitWhenReady) {
                return 0;
            }
            stopped.await();
            return 0;
        } finally {
            if (exitWhenReady || Thread.currentThread().isInterrupted()) {
                Runtime.getRuntime().removeShutdownHook(stopAll);
                stopAll.run();
            }
        }
    }

    private DemoTunnel tunnel;
    private java.util.Optional<String> tunnelUnavailable = java.util.Optional.empty();

    /** Root only: a request from west's pod to east's pod and ClusterIP through the encrypted tunnel. */
    private void showTunnel(PrintWriter out) throws Exception {
        if (tunnel == null) {
            out.println("Tunnel: skipped, " + tunnelUnavailable.orElse("not prepared"));
            return;
        }
        JsonNode segments = IpamCommand.send(AdminClient.anonymous("http://127.0.0.1:" + adminPort(0)).get("api/v1/ipam/segments"));
        tunnel.show(out, segments, cluster -> AdminClient.anonymous("http://127.0.0.1:" + adminPort(CLUSTERS.indexOf(cluster)))
                .get("api/v1/status").json(), SAMPLES.get(0).get(5));
    }

    /**
     * The demo is its own clusterset CA (under DIR/ca): it issues each cluster's peering certificate on the first
     * run, and again when one has less than a week left.
     */
    private void issueCertificates(PrintWriter out) {
        Path caDir = data.resolve("ca").toAbsolutePath();
        ClustersetCa ca = CaDir.pki(() -> Files.exists(caDir.resolve("ca.crt"))
                ? ClustersetCa.load(caDir) : ClustersetCa.init(caDir));
        for (String cluster : CLUSTERS) {
            Path tls = data.resolve(cluster).resolve("tls").toAbsolutePath();
            KeyFiles files = KeyFiles.in(tls, ClusterId.of(cluster));
            boolean fresh = Files.exists(files.certificate()) && CaDir.pki(() -> KeyMaterial.load(files))
                    .notAfter().isAfter(Instant.now().plus(Duration.ofDays(7)));
            if (!fresh) {
                CaDir.pki(() -> ca.issue(ClusterId.of(cluster), Duration.ofDays(90)).writeTo(tls));
                out.println("issued a peering certificate for " + cluster + " from the demo's clusterset CA in " + caDir);
            }
        }
    }

    /** Cluster i's read-only dashboard, served by its admin API (open here: the demo runs with auth off). */
    String dashboardUrl(int i) {
        return "http://127.0.0.1:" + adminPort(i) + "/dashboard";
    }

    int adminPort(int i) {
        return basePort + 10 * i;
    }

    int peeringPort(int i) {
        return basePort + 10 * i + 1;
    }

    int dnsPort(int i) {
        return basePort + 10 * i + 2;
    }

    int replicaPort(int i) {
        return basePort + 10 * i + 3;
    }

    private String configFor(int i) {
        String peers = java.util.stream.IntStream.range(0, CLUSTERS.size()).filter(j -> j != i)
                .mapToObj(j -> "\"127.0.0.1:" + peeringPort(j) + "\"").collect(Collectors.joining(", "));
        // Cluster east serves the CNI plugin's default socket, when this process may create it.
        String cni = i == 0 && cniSocketUsable() ? "cni-socket = \"" + CNI_SOCKET + "\"" : "";
        return """
                # Written by `isthmus demo`; rewritten on every run.
                isthmus {
                  cluster-id = "%s"
                  data-dir = "."
                  # A demo on loopback: the admin API takes calls without a token (said when the demo starts).
                  admin { host = "127.0.0.1", port = %d, auth.enabled = off }
                  peering { host = "127.0.0.1", port = %d, peers = [%s] }
                  dns { host = "127.0.0.1", port = %d }
                  replicas { host = "127.0.0.1", port = %d }
                  plan {
                    members = [east, west, edge]
                    supernets {
                      pod = [{cidr = "10.128.0.0/14", segment-prefix = 16}]
                      underlay = [{cidr = "10.64.0.0/14", segment-prefix = 20}]
                    }
                  }
                  ipam {
                    %s
                    fixed-ip-pods = ["db/pg-*"]
                  }
                  %s
                }
                """.formatted(CLUSTERS.get(i), adminPort(i), peeringPort(i), peers, dnsPort(i), replicaPort(i), cni,
                tunnel == null ? "" : tunnel.configFor(CLUSTERS.get(i)));
    }

    private static final String CNI_SOCKET = "/run/isthmus/ipam.sock";

    /** Whether this demo made /run/isthmus (then it removes it again when it stops: nothing left behind). */
    private boolean madeCniDir;

    private boolean cniSocketUsable() {
        Path dir = Path.of(CNI_SOCKET).getParent();
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                madeCniDir = true;
            }
            return Files.isWritable(dir);
        } catch (IOException e) {
            return false;
        }
    }

    private void removeCniDir() {
        if (!madeCniDir) {
            return;
        }
        try {
            Files.deleteIfExists(Path.of(CNI_SOCKET));
            Files.deleteIfExists(Path.of(CNI_SOCKET).getParent());
        } catch (IOException e) {
            // something else put files there meanwhile: theirs to keep
        }
    }

    /**
     * The clusterset address plan: each cluster claims a pod segment (once: a second run finds it held), east makes
     * a pool in its segment and allocates a few pods, and a StatefulSet pod restarts and keeps its address.
     */
    private void showAddressPlan(PrintWriter out) {
        for (int i = 0; i < CLUSTERS.size(); i++) {
            AdminClient admin = AdminClient.anonymous("http://127.0.0.1:" + adminPort(i));
            JsonNode plan = IpamCommand.send(admin.get("api/v1/ipam/segments"));
            boolean holdsPod = false;
            for (JsonNode segment : plan.path("segments")) {
                holdsPod |= segment.path("cluster").asText().equals(CLUSTERS.get(i))
                        && segment.path("kind").asText().equals("pod") && segment.path("state").asText().equals("held");
            }
            if (!holdsPod) {
                IpamCommand.send(admin.post("api/v1/ipam/segments", JSON.createObjectNode().put("kind", "pod")));
            }
        }
        AdminClient east = AdminClient.anonymous("http://127.0.0.1:" + adminPort(0));
        JsonNode plan = IpamCommand.send(east.get("api/v1/ipam/segments"));
        out.println("Address plan (segments held once a majority of the clusterset agreed), as east knows it:");
        IpamCommand.printSegments(out, plan);
        String eastSegment = "";
        for (JsonNode segment : plan.path("segments")) {
            if (segment.path("cluster").asText().equals("east") && segment.path("kind").asText().equals("pod")) {
                eastSegment = segment.path("cidr").asText();
            }
        }
        String poolCidr = eastSegment.substring(0, eastSegment.indexOf('/')) + "/24";
        String gateway = poolCidr.substring(0, poolCidr.lastIndexOf('.')) + ".1";
        ObjectNode pool = JSON.createObjectNode().put("name", "pods");
        pool.putArray("cidrs").add(poolCidr);
        pool.putArray("gateways").add(gateway);
        IpamCommand.send(east.post("api/v1/ipam/pools", pool));
        for (String[] owner : new String[][] {{"shop", "Pod", "cart-0", "c0"}, {"shop", "Pod", "cart-1", "c1"},
                {"db", "StatefulSetPod", "pg-0", "first"}}) {
            allocate(east, owner[0], owner[1], owner[2], owner[3]);
        }
        out.println();
        out.println("Pods of east given addresses from its pool " + poolCidr + " (./isthmus ipam leases):");
        IpamCommand.printLeases(out, IpamCommand.send(east.get("api/v1/ipam/pools/pods/leases")));
        String before = allocate(east, "db", "StatefulSetPod", "pg-0", "first");
        ObjectNode release = JSON.createObjectNode().put("mode", "keep-fixed");
        release.set("owner", owner("db", "StatefulSetPod", "pg-0", "first"));
        IpamCommand.send(east.post("api/v1/ipam/pools/pods/releases", release));
        String after = allocate(east, "db", "StatefulSetPod", "pg-0", "second");
        out.println("db/pg-0 restarted (a new uid): it had " + before + " and got " + after
                + (before.equals(after) ? ", its fixed IP" : " (NOT its fixed IP)"));
        out.println(cniSocketUsable() ? "east serves the isthmus-ipam CNI plugin on " + CNI_SOCKET
                + " (./isthmus cni-install /opt/cni/bin puts the plugin there)"
                : "east serves no CNI socket: " + CNI_SOCKET + " needs root");
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode owner(String namespace, String kind, String name, String uid) {
        return JSON.createObjectNode().put("namespace", namespace).put("kind", kind).put("name", name).put("uid", uid);
    }

    private static String allocate(AdminClient admin, String namespace, String kind, String name, String uid) {
        ObjectNode body = JSON.createObjectNode();
        body.set("owner", owner(namespace, kind, name, uid));
        JsonNode lease = IpamCommand.send(admin.post("api/v1/ipam/pools/pods/allocations", body));
        return lease.path("addresses").get(0).path("address").asText();
    }

    /**
     * The ranges the sample exports live in, registered with the address plan as in use before it (a cluster's
     * Kubernetes service CIDR, west's existing pod network): peers admit a cluster's endpoints only inside its own
     * segments and registered ranges. Registering again is a no-op.
     */
    private void registerRanges(PrintWriter out) {
        for (List<String> range : REGISTERED) {
            AdminClient.Reply reply = AdminClient.anonymous("http://127.0.0.1:" + adminPort(CLUSTERS.indexOf(range.get(0))))
                    .post("api/v1/ipam/registrations", JSON.createObjectNode().put("kind", range.get(1))
                            .put("cidr", range.get(2)));
            if (!reply.ok()) {
                throw new CliException("registering " + range.get(1) + " CIDR " + range.get(2) + " of " + range.get(0)
                        + " failed: " + reply.error());
            }
        }
        out.println("registered the ranges in use before the plan: " + REGISTERED.stream()
                .map(r -> r.get(0) + " " + r.get(1) + " " + r.get(2)).collect(Collectors.joining(", ")));
    }

    private void exportSamples(PrintWriter out) {
        ObjectMapper json = new ObjectMapper();
        for (List<String> sample : SAMPLES) {
            ObjectNode body = json.createObjectNode();
            body.put("namespace", sample.get(1)).put("name", sample.get(2)).put("type", sample.get(3));
            List.of(sample.get(4).split(",")).forEach(body.putArray("ports")::add);
            List.of(sample.get(5).split(",")).forEach(body.putArray("ips")::add);
            AdminClient.Reply reply = AdminClient.anonymous("http://127.0.0.1:" + adminPort(CLUSTERS.indexOf(sample.get(0))))
                    .post("api/v1/exports", body);
            if (!reply.ok()) {
                throw new CliException("exporting " + sample.get(1) + "/" + sample.get(2) + " from " + sample.get(0)
                        + " failed: " + reply.error());
            }
            out.println("exported " + sample.get(1) + "/" + sample.get(2) + " from " + sample.get(0));
        }
    }

    /** Asks every cluster's DNS for every sample name until all answer alike with every address exported. */
    private Map<String, Map<String, String>> awaitAnswers(Instant deadline) throws Exception {
        Map<String, List<String>> expected = new LinkedHashMap<>();
        for (List<String> sample : SAMPLES) {
            String name = sample.get(2) + "." + sample.get(1) + ".svc.clusterset.local";
            expected.computeIfAbsent(name, n -> new ArrayList<>()).addAll(List.of(sample.get(5).split(",")));
        }
        while (true) {
            Map<String, Map<String, String>> answers = new LinkedHashMap<>();
            boolean complete = true;
            for (Map.Entry<String, List<String>> entry : expected.entrySet()) {
                Map<String, String> byCluster = new LinkedHashMap<>();
                for (int i = 0; i < CLUSTERS.size(); i++) {
                    List<String> got = askA(dnsPort(i), entry.getKey());
                    byCluster.put(CLUSTERS.get(i), got.isEmpty() ? "(none)" : String.join(" ", got));
                    complete &= got.size() == entry.getValue().size() && got.containsAll(entry.getValue());
                }
                answers.put(entry.getKey(), byCluster);
            }
            if (complete) {
                return answers;
            }
            if (Instant.now().isAfter(deadline)) {
                throw new CliException("not every cluster answered for every export in time; last answers: " + answers);
            }
            Thread.sleep(200);
        }
    }

    private static List<String> askA(int port, String name) throws IOException {
        SimpleResolver resolver = new SimpleResolver(new InetSocketAddress("127.0.0.1", port));
        resolver.setTimeout(Duration.ofSeconds(2));
        Message response = resolver.send(Message.newQuery(Record.newRecord(Name.fromString(name + "."), Type.A,
                org.xbill.DNS.DClass.IN)));
        List<String> ips = new ArrayList<>();
        if (response.getRcode() == Rcode.NOERROR) {
            for (Record record : response.getSection(Section.ANSWER)) {
                if (record instanceof ARecord a) {
                    ips.add(a.getAddress().getHostAddress());
                }
            }
        }
        ips.sort(null);
        return ips;
    }

    private static String[] headers(String first) {
        List<String> headers = new ArrayList<>();
        headers.add(first);
        CLUSTERS.forEach(c -> headers.add("ASKED " + c.toUpperCase()));
        return headers.toArray(String[]::new);
    }
}
