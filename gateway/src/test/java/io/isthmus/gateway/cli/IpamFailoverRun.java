package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.testing.PostgresServer;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One cluster ({@code east}) of N gateway replicas (separate JVMs, one Pekko cluster, one PostgreSQL journal, the
 * split-brain resolver's lease in PostgreSQL), P pools spread over the replicas by sharding, and one client per pool
 * allocating continuously for new owners through the admin API. A client talks to "its" replica and, when the
 * connection fails, switches to the next one and repeats the same request (allocation is idempotent per owner), as
 * a runtime talking to its node's gateway would after that gateway died; a 503 (the pool did not answer in time) is
 * repeated on the same replica. Then one replica is SIGKILLed and the run records, per pool, the last acknowledged
 * allocation before the kill and the first after it, when the survivors removed the dead replica, and what the
 * survivors' logs say about each step. {@link #verify} checks the client log against the pools' leases as the
 * survivors recovered them from the journal. {@link #replace} restarts a replica gracefully instead (a rolling
 * upgrade). Shared by {@code IpamReplicaFailoverTest} (behaviour), {@code RollingUpgradeTest} and
 * {@code IpamFailoverBench} (figures).
 */
final class IpamFailoverRun implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CLUSTER = "east";

    /** Which replica dies: the oldest member hosts the shard coordinator (a cluster singleton), the youngest does not. */
    enum Victim { OLDEST, YOUNGEST }

    /**
     * @param pace       pause between one client's acknowledged allocation and its next request
     * @param settle     extra config lines for every replica's {@code isthmus { }} block (tuning experiments)
     * @param jvmOptions for every replica
     */
    record Options(int replicas, int pools, Duration pace, Duration before, Duration after, Duration limit,
                   String settle, List<String> jvmOptions) {
    }

    /** One acknowledged allocation as the client saw it. */
    record Ack(int pool, String owner, String address, long atNanos, int replica) {
    }

    /**
     * Per pool: the last acknowledged allocation before the kill and the first after it (nanoTime; 0 if none);
     * {@code moved}: the pool ran on the killed replica (asked just before the kill).
     */
    record PoolStall(int pool, boolean moved, long lastBefore, long firstAfter, int unavailable, int switches) {
        double stallSeconds() {
            return (firstAfter - lastBefore) / 1e9;
        }
    }

    /** What a run measured: one entry per pool, the removal time, the survivors' log events after the kill. */
    record Result(Victim victim, List<PoolStall> pools, double removedSeconds, Map<String, Double> logEvents,
                  int acknowledged) {
    }

    private final Options options;
    private final Path dir;
    private final PostgresServer postgres;
    private final int base;
    private final List<GatewayProcess> replicas = new ArrayList<>();
    private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    private final List<Client> clients = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();

    private IpamFailoverRun(Options options, Path dir, PostgresServer postgres) {
        this.options = options;
        this.dir = dir;
        this.postgres = postgres;
        this.base = FreePorts.block(10 * options.replicas());
    }

    /**
     * Starts PostgreSQL and the replicas one after the other (the first forms the cluster, the others join it), waits
     * until all are Up, claims 10.128.0.0/16 and creates the pools {@code p00..} as /20s in it.
     */
    static IpamFailoverRun start(Options options, Path dir) throws Exception {
        if (options.pools() < 1 || options.pools() > 16) {
            throw new IllegalArgumentException("pools must be 1..16 (/20s in one /16), not " + options.pools());
        }
        IpamFailoverRun run = new IpamFailoverRun(options, dir, PostgresServer.start());
        try {
            run.startReplicas();
            run.createPools();
            return run;
        } catch (Exception | AssertionError e) {
            run.close();
            throw e;
        }
    }

    private void startReplicas() throws Exception {
        TestPki pki = new TestPki(dir.resolve("ca"));
        for (int i = 0; i < options.replicas(); i++) {
            Path home = dir.resolve(name(i));
            pki.issue(CLUSTER, home.resolve("data").resolve("tls"));
            // One at a time: the first forms the cluster and is its oldest member.
            replicas.add(startReplica(i, List.of(0), options.settle()));
        }
        awaitAllUp(0);
    }

    private static String name(int i) {
        return CLUSTER + "-" + (char) ('a' + i);
    }

    /** Starts replica {@code i} joining the replicas {@code seeds}, with {@code settle} in its config; waits until ready. */
    private GatewayProcess startReplica(int i, List<Integer> seeds, String settle) throws Exception {
        String name = name(i);
        Path home = dir.resolve(name);
        String seedNodes = String.join(", ", seeds.stream().map(seed -> "\"pekko://isthmus@127.0.0.1:" + replicaPort(seed) + "\"").toList());
        Files.writeString(home.resolve("gateway.conf"), """
                    isthmus {
                      cluster-id = %s
                      data-dir = "data"
                      admin.port = %d
                      admin.auth.enabled = off // not what this test is about: AdminAuthTest is
                      peering.port = %d
                      dns.port = %d
                      replicas { port = %d, seed-nodes = [%s], name = %s }
                      journal { kind = postgres, postgres { url = "%s", user = postgres } }
                      plan {
                        members = [%s]
                        supernets.pod = [{cidr = "10.128.0.0/9", segment-prefix = 16}]
                      }
                      %s
                    }
                    """.formatted(CLUSTER, admin(i), base + 10 * i + 1, base + 10 * i + 2, replicaPort(i),
                    seedNodes, name, postgres.url(), CLUSTER, settle));
        // A restarted replica logs after its predecessor's lines.
        GatewayProcess replica = GatewayProcess.start(name, home.resolve("gateway.conf"), admin(i),
                home.resolve("gateway.log"), options.jvmOptions());
        replica.awaitReady(Duration.ofSeconds(240));
        return replica;
    }

    private void awaitAllUp(int via) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (upMembers(via) < options.replicas()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not every replica is Up: " + status(via).path("replicas"));
            }
            Thread.sleep(200);
        }
    }

    /**
     * Replaces replica {@code i} as a rolling upgrade does: stops it (SIGTERM: it leaves the cluster, handing its
     * pools over), waits until the others removed it, starts it again with {@code settle} in its config, joining the
     * others, and waits until every replica is Up. Returns the seconds from the stop to all Up.
     */
    double replace(int i, String settle) throws Exception {
        int other = (i + 1) % options.replicas();
        String address = "pekko://isthmus@127.0.0.1:" + replicaPort(i);
        long stoppedAt = System.nanoTime();
        replicas.get(i).close();
        long deadline = stoppedAt + Duration.ofSeconds(60).toNanos();
        while (members(other).containsKey(address)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(name(i) + " was not removed after its stop: " + members(other));
            }
            Thread.sleep(100);
        }
        List<Integer> others = new ArrayList<>();
        for (int r = 0; r < options.replicas(); r++) {
            if (r != i) {
                others.add(r);
            }
        }
        replicas.set(i, startReplica(i, others, settle));
        awaitAllUp(other);
        return (System.nanoTime() - stoppedAt) / 1e9;
    }

    List<String> adminUrls() {
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < options.replicas(); i++) {
            urls.add(adminUrl(i));
        }
        return urls;
    }

    PostgresServer postgres() {
        return postgres;
    }

    private void createPools() throws Exception {
        AdminClient admin = AdminClient.anonymous(adminUrl(0));
        AdminClient.Reply claim = admin.post("api/v1/ipam/segments", JSON.readTree("{\"kind\": \"pod\", \"cidr\": \"10.128.0.0/16\"}"));
        if (!claim.ok()) {
            throw new AssertionError("claim of 10.128.0.0/16: " + claim);
        }
        for (int p = 0; p < options.pools(); p++) {
            AdminClient.Reply created = admin.post("api/v1/ipam/pools", JSON.readTree(
                    "{\"name\": \"%s\", \"cidrs\": [\"10.128.%d.0/20\"]}".formatted(pool(p), 16 * p)));
            if (!created.ok()) {
                throw new AssertionError("create pool " + pool(p) + ": " + created);
            }
        }
    }

    /**
     * Runs the clients for {@code before}, SIGKILLs the victim, and goes on until every pool has an acknowledged
     * allocation after the kill and {@code after} more has passed (at most {@code limit}); then stops the clients.
     */
    Result killDuringAllocations(Victim victim) throws Exception {
        int dead = victim == Victim.OLDEST ? 0 : options.replicas() - 1;
        int survivor = dead == 0 ? 1 : 0;
        startClients();
        Thread.sleep(options.before().toMillis());
        String deadAddress = "pekko://isthmus@127.0.0.1:" + replicaPort(dead);
        List<Boolean> onDead = new ArrayList<>();
        for (int p = 0; p < options.pools(); p++) {
            AdminClient.Reply where = AdminClient.anonymous(adminUrl(survivor)).get("api/v1/ipam/pools/" + pool(p) + "/replica");
            if (!where.ok()) {
                throw new AssertionError("where does " + pool(p) + " run: " + where);
            }
            onDead.add(where.json().path("replica").asText().equals(deadAddress));
        }
        LocalTime killedAtClock = LocalTime.now(ZoneOffset.UTC);
        replicas.get(dead).kill();
        long killedAt = System.nanoTime();
        for (Client client : clients) {
            client.killedAt = killedAt;
        }

        double removed = Double.NaN;
        long deadline = killedAt + options.limit().toNanos();
        long allServedAt = 0;
        while (System.nanoTime() < deadline) {
            if (Double.isNaN(removed) && !members(survivor).containsKey(deadAddress)) {
                removed = (System.nanoTime() - killedAt) / 1e9;
            }
            if (allServedAt == 0 && clients.stream().allMatch(c -> c.firstAfter.get() != 0)) {
                allServedAt = System.nanoTime();
            }
            if (allServedAt != 0 && !Double.isNaN(removed)
                    && System.nanoTime() - allServedAt > options.after().toNanos()) {
                break;
            }
            Thread.sleep(20);
        }
        stopClients();
        List<PoolStall> stalls = clients.stream().map(c -> new PoolStall(c.pool, onDead.get(c.pool), c.lastBefore.get(),
                c.firstAfter.get(),
                c.unavailable.get(), c.switches.get())).toList();
        Map<String, Double> events = new TreeMap<>();
        for (int i = 0; i < replicas.size(); i++) {
            if (i != dead) {
                events.putAll(logEvents(replicas.get(i), killedAtClock, "replica " + replicas.get(i).name()));
            }
        }
        return new Result(victim, stalls, removed, events, acks.size());
    }

    /** Starts one client per pool, spread over the replicas, and waits until every pool acknowledged an allocation. */
    void startClients() throws InterruptedException {
        for (int p = 0; p < options.pools(); p++) {
            Client client = new Client(p, p % options.replicas());
            clients.add(client);
            Thread.ofPlatform().name("ipam-client-" + p).daemon().start(client);
        }
        long warmDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (clients.stream().anyMatch(c -> c.acknowledged.get() == 0)) {
            if (System.nanoTime() > warmDeadline) {
                throw new AssertionError("some pools never answered: " + clients.stream()
                        .filter(c -> c.acknowledged.get() == 0).map(c -> pool(c.pool) + " " + c.lastError).toList());
            }
            Thread.sleep(50);
        }
    }

    /** Stops the clients; each finishes (or drops, unacknowledged) the request in flight. */
    void stopClients() throws InterruptedException {
        stop.set(true);
        for (Client client : clients) {
            client.done.await();
        }
    }

    /** Per pool, the longest time between two acknowledged allocations after {@code fromNanos} (seconds). */
    Map<String, Double> longestGaps(long fromNanos) {
        Map<Integer, List<Long>> times = new TreeMap<>();
        for (Ack ack : acks) {
            times.computeIfAbsent(ack.pool(), p -> new ArrayList<>()).add(ack.atNanos());
        }
        Map<String, Double> gaps = new TreeMap<>();
        times.forEach((p, list) -> {
            Collections.sort(list);
            long longest = 0;
            for (int k = 1; k < list.size(); k++) {
                if (list.get(k) > fromNanos) {
                    longest = Math.max(longest, list.get(k) - Math.max(list.get(k - 1), fromNanos));
                }
            }
            gaps.put(pool(p), longest / 1e9);
        });
        return gaps;
    }

    /**
     * The proof: no address acknowledged to two owners (client log), and the survivors' leases, recovered from the
     * journal for the dead replica's pools, hold every acknowledged allocation with the address the client was given
     * and no address twice. Returns the problems found (empty: none); writes the client log to {@code clientLog}.
     */
    List<String> verify(int via, Path clientLog) throws Exception {
        List<String> problems = new ArrayList<>();
        Map<String, String> ownerOfAddress = new HashMap<>();
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(clientLog))) {
            out.println("pool,owner,address,acknowledged_ns,replica");
            for (Ack ack : acks) {
                out.printf("%s,%s,%s,%d,%d%n", pool(ack.pool()), ack.owner(), ack.address(), ack.atNanos(), ack.replica());
                String previous = ownerOfAddress.put(pool(ack.pool()) + "/" + ack.address(), ack.owner());
                if (previous != null && !previous.equals(ack.owner())) {
                    problems.add(ack.address() + " in " + pool(ack.pool()) + " acknowledged to " + previous + " and " + ack.owner());
                }
            }
        }
        AdminClient admin = AdminClient.anonymous(adminUrl(via));
        for (int p = 0; p < options.pools(); p++) {
            AdminClient.Reply reply = admin.get("api/v1/ipam/pools/" + pool(p) + "/leases");
            // A pool that is just moving between replicas answers 503 for a moment: the read is repeated, not judged.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (reply.status() == 503 && System.nanoTime() < deadline) {
                Thread.sleep(200);
                reply = admin.get("api/v1/ipam/pools/" + pool(p) + "/leases");
            }
            if (!reply.ok()) {
                problems.add("leases of " + pool(p) + ": " + reply);
                continue;
            }
            Map<String, String> holder = new HashMap<>();
            Map<String, String> addressOf = new HashMap<>();
            for (JsonNode lease : reply.json()) {
                String owner = lease.path("owner").path("name").asText();
                for (JsonNode address : lease.path("addresses")) {
                    String previous = holder.put(address.path("address").asText(), owner);
                    if (previous != null) {
                        problems.add(address.path("address").asText() + " in " + pool(p) + " is held by " + previous
                                + " and " + owner);
                    }
                    addressOf.put(owner, address.path("address").asText());
                }
            }
            for (Ack ack : acks) {
                if (ack.pool() == p && !ack.address().equals(addressOf.get(ack.owner()))) {
                    problems.add("acknowledged " + ack.owner() + " -> " + ack.address() + " in " + pool(p)
                            + " but the pool says " + addressOf.get(ack.owner()));
                }
            }
        }
        return problems;
    }

    int survivorOf(Victim victim) {
        return victim == Victim.OLDEST ? 1 : 0;
    }

    List<Ack> acks() {
        return List.copyOf(acks);
    }

    String tail(int replica, int lines) {
        return replicas.get(replica).tail(lines);
    }

    static String pool(int p) {
        return "p%02d".formatted(p);
    }

    private String adminUrl(int i) {
        return "http://127.0.0.1:" + admin(i);
    }

    private int admin(int i) {
        return base + 10 * i;
    }

    private int replicaPort(int i) {
        return base + 10 * i + 3;
    }

    private JsonNode status(int i) throws Exception {
        return JSON.readTree(AdminClient.anonymous(adminUrl(i)).get("api/v1/status").body());
    }

    private long upMembers(int i) throws Exception {
        return members(i).values().stream().filter("Up"::equals).count();
    }

    private Map<String, String> members(int i) throws Exception {
        Map<String, String> members = new TreeMap<>();
        for (JsonNode replica : status(i).path("replicas")) {
            members.put(replica.path("address").asText(), replica.path("status").asText());
        }
        return members;
    }

    /** Markers in a survivor's log (Pekko's own lines), seconds after the kill; the first of each. */
    private static final Map<String, Pattern> MARKERS = markers();

    private static Map<String, Pattern> markers() {
        Map<String, Pattern> markers = new java.util.LinkedHashMap<>();
        markers.put("1 marked unreachable", Pattern.compile("Marking node as UNREACHABLE|Marking node\\(s\\) as UNREACHABLE"));
        markers.put("2 resolver decided to down", Pattern.compile("SBR took decision|downing \\["));
        markers.put("3 lease acquired", Pattern.compile("SBR acquired lease|lease .* acquired|acquired lease"));
        markers.put("4 dead replica removed", Pattern.compile("Leader is removing .*unreachable|is removing .*\\[Down\\]"));
        markers.put("5 coordinator started", Pattern.compile("ShardCoordinator was moved to the active state|Singleton manager starting singleton actor.*[Cc]oordinator"));
        return markers;
    }

    private static Map<String, Double> logEvents(GatewayProcess replica, LocalTime killedAt, String prefix) throws IOException {
        Map<String, Double> found = new TreeMap<>();
        Pattern time = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d) ");
        for (String line : Files.readAllLines(replica.log())) {
            Matcher matcher = time.matcher(line);
            if (!matcher.find()) {
                continue;
            }
            LocalTime at = LocalTime.parse(matcher.group(1));
            if (at.isBefore(killedAt)) {
                continue;
            }
            for (Map.Entry<String, Pattern> marker : MARKERS.entrySet()) {
                if (marker.getValue().matcher(line).find()) {
                    found.putIfAbsent(prefix + ": " + marker.getKey(), Duration.between(killedAt, at).toMillis() / 1e3);
                }
            }
        }
        return found;
    }

    /** One pool's client: allocates for owner after owner, repeating each owner's request until it is acknowledged. */
    private final class Client implements Runnable {
        final int pool;
        int replica;
        volatile long killedAt = Long.MAX_VALUE;
        final AtomicLong lastBefore = new AtomicLong();
        final AtomicLong firstAfter = new AtomicLong();
        final AtomicInteger acknowledged = new AtomicInteger();
        final AtomicInteger unavailable = new AtomicInteger();
        final AtomicInteger switches = new AtomicInteger();
        final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        volatile String lastError = "";
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(1)).build();

        Client(int pool, int replica) {
            this.pool = pool;
            this.replica = replica;
        }

        @Override
        public void run() {
            try {
                int n = 0;
                while (!stop.get()) {
                    String owner = pool(pool) + "-" + n;
                    Optional<String> address = Optional.empty();
                    while (address.isEmpty() && !stop.get()) {
                        address = allocate(owner);
                    }
                    if (address.isEmpty()) {
                        return; // stopped with this owner unacknowledged: not in the log
                    }
                    long now = System.nanoTime();
                    acks.add(new Ack(pool, owner, address.get(), now, replica));
                    acknowledged.incrementAndGet();
                    if (now < killedAt) {
                        lastBefore.set(now);
                    } else {
                        firstAfter.compareAndSet(0, now);
                    }
                    n++;
                    Thread.sleep(options.pace().toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                done.countDown();
            }
        }

        private Optional<String> allocate(String owner) throws InterruptedException {
            String body = "{\"owner\": {\"namespace\": \"load\", \"name\": \"" + owner + "\", \"uid\": \"1\"}}";
            HttpRequest request = HttpRequest.newBuilder(URI.create(adminUrl(replica) + "/api/v1/ipam/pools/"
                            + pool(pool) + "/allocations")).timeout(Duration.ofSeconds(10))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
            try {
                HttpResponse<String> reply = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (reply.statusCode() == 200) {
                    return Optional.of(JSON.readTree(reply.body()).path("addresses").get(0).path("address").asText());
                }
                lastError = reply.statusCode() + " " + reply.body();
                if (reply.statusCode() == 503) {
                    unavailable.incrementAndGet();
                    Thread.sleep(20);
                    return Optional.empty();
                }
                throw new IllegalStateException("pool " + pool(pool) + " refused " + owner + ": " + lastError);
            } catch (IOException e) {
                // The replica is gone (or not answering): go to the next one, as a runtime would to another gateway.
                lastError = e.toString();
                switches.incrementAndGet();
                replica = (replica + 1) % options.replicas();
                Thread.sleep(20);
                return Optional.empty();
            }
        }
    }

    /** p50 and max of the stalls of the pools that stalled longer than {@code threshold} seconds (and of all). */
    static String summary(List<PoolStall> pools) {
        List<Double> all = new ArrayList<>(pools.stream().map(PoolStall::stallSeconds).toList());
        Collections.sort(all);
        return "p50 %.2f s, max %.2f s over %d pools".formatted(all.get((all.size() - 1) / 2), all.getLast(), all.size());
    }

    @Override
    public void close() {
        stop.set(true);
        replicas.parallelStream().forEach(GatewayProcess::close);
        try {
            postgres.close();
        } catch (Exception e) {
            System.err.println("stopping PostgreSQL: " + e);
        }
    }
}
