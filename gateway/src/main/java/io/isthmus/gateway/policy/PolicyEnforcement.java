package io.isthmus.gateway.policy;

import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.Lease;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.policy.CrossClusterDefault;
import io.isthmus.policy.DecisionTable;
import io.isthmus.policy.Explanation;
import io.isthmus.policy.RuleCounters;
import io.isthmus.policy.RuleRef;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.policy.Flow;
import io.isthmus.policy.IdentityView;
import io.isthmus.tunnel.ConnectionTracker;
import io.isthmus.tunnel.PolicyPacketFilter;
import io.isthmus.tunnel.TunnelDataPlane;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongBiFunction;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Keeps the data path enforcing the book: compiles the policies in force, with the identities this gateway knows
 * ({@link IdentitySource}), into a {@link DecisionTable} and swaps it into the tunnel's policy stage
 * ({@link PolicyPacketFilter}, both directions). A change of the book is compiled at once (a burst of changes in one
 * compile of the latest book); the identities are read
 * again every {@link #IDENTITY_INTERVAL} and, when they changed, put under the same compiled policies (the counters
 * carry on). One thread compiles, so tables are swapped in the order they were made. Before the first book arrives
 * (a new cluster) the table holds no policy and enforces the cross-cluster default alone.
 */
public final class PolicyEnforcement implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PolicyEnforcement.class);
    static final Duration IDENTITY_INTERVAL = Duration.ofSeconds(1);
    private static final Duration IDENTITY_TIMEOUT = Duration.ofSeconds(3);

    /**
     * What the identities are read from: the plan, the mesh (exports), the IPAM leases, Kubernetes' pods and
     * namespaces ({@link Workloads#NONE} without Kubernetes), and the peers' workloads, to which this cluster's are
     * published.
     */
    public record Sources(ClusterId self, Supplier<CompletionStage<Optional<Plan>>> plan,
                          Supplier<MeshView.Snapshot> mesh, Ipam ipam, Supplier<Workloads> kubernetes,
                          WorkloadExchange peers) {
    }

    private final PolicyStore store;
    private final CrossClusterDefault fallback;
    private final Sources sources;
    private final Optional<TunnelDataPlane> tunnel;
    private final PolicyPacketFilter filter;
    private final ScheduledExecutorService compiler = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("policy-compiler").daemon().factory());
    private volatile DecisionTable table;
    private volatile List<String> identityProblems = List.of();
    private volatile Workloads local = Workloads.NONE;
    /** What the identities in force were built from (compiler thread only); null before the first build. */
    private IdentitySource.Inputs builtFrom;
    private final java.util.concurrent.atomic.AtomicBoolean compilePending = new java.util.concurrent.atomic.AtomicBoolean();

    private PolicyEnforcement(PolicyStore store, CrossClusterDefault fallback, Sources sources,
                              Optional<TunnelDataPlane> tunnel) {
        this.store = store;
        this.fallback = fallback;
        this.sources = sources;
        this.tunnel = tunnel;
        this.table = DecisionTable.compile(store.book(), fallback, IdentityView.EMPTY);
        this.filter = new PolicyPacketFilter(table, tunnel.map(TunnelDataPlane::connectionTracker)
                .orElseGet(ConnectionTracker::withDefaults));
    }

    public static PolicyEnforcement start(PolicyStore store, CrossClusterDefault fallback, Sources sources,
                                          Optional<TunnelDataPlane> tunnel) {
        PolicyEnforcement enforcement = new PolicyEnforcement(store, fallback, sources, tunnel);
        tunnel.ifPresent(plane -> plane.usePolicy(enforcement.filter));
        store.whenChanged(changed -> enforcement.compileSoon());
        enforcement.compiler.scheduleWithFixedDelay(enforcement::refreshIdentities, 0,
                IDENTITY_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return enforcement;
    }

    /**
     * At most one compile waits: changes that arrive while one waits are taken by it (it reads the book when it runs),
     * so a burst of edits costs one compile of the latest book, not one per edit.
     */
    private void compileSoon() {
        if (compilePending.compareAndSet(false, true)) {
            compiler.execute(this::compileBook);
        }
    }

    private void compileBook() {
        compilePending.set(false); // a change from now on needs a compile after this one
        try {
            DecisionTable next = DecisionTable.compile(store.book(), fallback, table.view());
            swap(next);
            log.info("policy: enforcing {} (compiled in {} ms)", next.version(), next.compileNanos() / 1_000_000);
        } catch (RuntimeException e) {
            log.warn("policy: could not compile {} (the last table stays in force): {}", store.book().version(),
                    e.toString(), e);
        }
    }

    private void refreshIdentities() {
        try {
            IdentitySource.Built built = identities().toCompletableFuture()
                    .get(IDENTITY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (built == null) {
                return; // nothing it is built from changed since the last time
            }
            if (!built.problems().equals(identityProblems)) {
                built.problems().forEach(problem -> log.warn("policy: identity left out: {}", problem));
                identityProblems = built.problems();
            }
            if (!built.view().equals(table.view())) {
                swap(table.withIdentities(built.view()));
            }
        } catch (Exception e) {
            log.debug("policy: identities not read this time: {}", e.toString());
        }
    }

    private void swap(DecisionTable next) {
        table = next;
        filter.use(next);
    }

    private CompletionStage<IdentitySource.Built> identities() {
        MeshView.Snapshot mesh = sources.mesh().get();
        return sources.plan().get().thenCombine(leases(), (plan, leases) -> {
            Workloads now = IdentitySource.local(leases, sources.kubernetes().get());
            local = now;
            sources.peers().publish(now);
            // With 10,000 imports a build costs tens of milliseconds warm (far more cold, right after a restart,
            // when it competes with the resync): skip it while its inputs are the same.
            IdentitySource.Inputs inputs = IdentitySource.Inputs.of(plan, mesh, now, sources.peers().remote());
            if (inputs.sameAs(builtFrom)) {
                return null;
            }
            builtFrom = inputs;
            return IdentitySource.build(sources.self(), plan, mesh, now, inputs.peers());
        });
    }

    private CompletionStage<List<Lease>> leases() {
        return sources.ipam().pools().thenCompose(pools -> {
            List<CompletableFuture<List<Lease>>> each = pools.stream()
                    .map(pool -> sources.ipam().leases(pool.name()).toCompletableFuture()).toList();
            return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(done -> {
                List<Lease> all = new ArrayList<>();
                each.forEach(f -> all.addAll(f.join()));
                return all;
            });
        });
    }

    /** The table in force. */
    public DecisionTable table() {
        return table;
    }

    /** What the data path enforces, in words, or why nothing. */
    public String enforced() {
        return tunnel.isPresent() ? table.describe() + " in the tunnel, both ways"
                : "nothing: this replica runs no tunnel (" + table.describe() + " compiled)";
    }

    /** This cluster's workloads (as last read) and each peer's (as it sent them), by cluster. */
    public Map<ClusterId, Workloads> workloads() {
        Map<ClusterId, Workloads> all = new HashMap<>(sources.peers().remote());
        all.put(sources.self(), local);
        return all;
    }

    /** The identities left out of the view, each a sentence. */
    public List<String> identityProblems() {
        return identityProblems;
    }

    public Explanation explain(Flow flow) {
        return table.explain(flow);
    }

    /** Per rule of the table in force: packets and bytes it decided ({@code policy}, {@code rule} as written). */
    public void registerMetrics(Metrics metrics) {
        perRule(metrics, "isthmus_policy_rule_packets_total", "Packets each policy rule decided in the tunnel, "
                + "by policy and rule (spec.ingress[i] / spec.egress[i]); counted on the table in force.", RuleCounters::packets);
        perRule(metrics, "isthmus_policy_rule_bytes_total", "Bytes of the packets each policy rule decided in the "
                + "tunnel, by policy and rule.", RuleCounters::bytes);
        metrics.gauge("isthmus_policy_info", "The policy version the data path enforces.", List.of("version"),
                () -> Map.of(List.of(table.policyVersion()), 1.0));
    }

    private void perRule(Metrics metrics, String name, String help, ToLongBiFunction<RuleCounters, Integer> value) {
        metrics.counterFunction(name, help, List.of("policy", "rule"), () -> {
            DecisionTable current = table;
            Map<List<String>, Double> out = new HashMap<>();
            List<RuleRef> rules = current.rules();
            for (int i = 0; i < rules.size(); i++) {
                RuleRef rule = rules.get(i);
                out.put(List.of(rule.policy(), rule.path().substring(rule.policy().length() + 1)),
                        (double) value.applyAsLong(current.counters(), i));
            }
            return out;
        });
    }

    @Override
    public void close() {
        compiler.shutdownNow();
    }
}
