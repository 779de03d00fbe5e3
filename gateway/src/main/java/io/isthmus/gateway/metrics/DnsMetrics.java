package io.isthmus.gateway.metrics;

import io.isthmus.dns.DnsCounters;
import io.isthmus.dns.DnsServer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** The DNS server's counters as Prometheus series; registered once the server is bound. */
public final class DnsMetrics {
    private DnsMetrics() {
    }

    public static void register(Metrics metrics, DnsServer dns) {
        DnsCounters counters = dns.counters();
        metrics.counterFunction("isthmus_dns_responses_total", "DNS responses sent, by response code.",
                List.of("rcode"), () -> samples(counters, DnsCounters.Snapshot::byRcode));
        metrics.counterFunction("isthmus_dns_queries_total", "DNS questions received, by query type.",
                List.of("qtype"), () -> samples(counters, DnsCounters.Snapshot::byQtype));
        metrics.counterFunction("isthmus_dns_forwarded_total", "Queries sent to upstream resolvers, by outcome.",
                List.of("outcome"), () -> samples(counters, DnsCounters.Snapshot::forwardedByOutcome));
        metrics.counterFunction("isthmus_dns_forward_cache_lookups_total",
                "Forwarded names looked up in the cache, by result (hit ratio = hit / (hit + miss)).",
                List.of("result"), () -> {
                    DnsCounters.Snapshot now = counters.snapshot();
                    return Map.of(List.of("hit"), (double) now.cacheHits(), List.of("miss"), (double) now.cacheMisses());
                });
        metrics.gauge("isthmus_dns_forward_cache_hit_ratio", "Forward cache hits over lookups since start.", List.of(),
                () -> Map.of(List.of(), counters.snapshot().cacheHitRatio()));
        metrics.counterFunction("isthmus_dns_refused_by_allow_list_total",
                "Forwarded names refused because the client is not on the allow-list.", List.of(),
                () -> Map.of(List.of(), (double) counters.snapshot().refusedByAllowList()));
        metrics.counterFunction("isthmus_dns_internal_errors_total",
                "Queries a handler failed on (answered SERVFAIL): bugs, worth an alert.", List.of(),
                () -> Map.of(List.of(), (double) counters.snapshot().internalErrors()));
        metrics.counterFunction("isthmus_dns_rate_limited_total",
                "UDP responses held back by response rate limiting, by what was sent instead (nothing, or an empty "
                        + "truncated response).", List.of("action"), () -> {
                    DnsCounters.Snapshot now = counters.snapshot();
                    return Map.of(List.of("dropped"), (double) now.rateLimited(),
                            List.of("slipped"), (double) now.rateLimitSlipped());
                });
        metrics.histogramFunction("isthmus_dns_response_seconds", "Time from a query's receipt to its response.",
                () -> {
                    DnsCounters.LatencyHistogram latency = counters.snapshot().latency();
                    return new Metrics.HistogramSample(
                            latency.boundsMicros().stream().map(micros -> micros / 1e6).toList(),
                            latency.cumulativeCounts(), latency.sumMicros() / 1e6);
                });
    }

    private static Map<List<String>, Double> samples(DnsCounters counters,
                                                     Function<DnsCounters.Snapshot, Map<String, Long>> pick) {
        Map<List<String>, Double> out = new HashMap<>();
        pick.apply(counters.snapshot()).forEach((k, v) -> out.put(List.of(k), (double) v));
        return out;
    }
}
