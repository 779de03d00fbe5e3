package io.isthmus.gateway.replicas;

import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.pki.ReplicaTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Logs and counts the connections the replica TLS refuses. Artery retries a refused connection every few hundred
 * milliseconds on each of its streams, so the same refusal is logged at most once per {@link #QUIET} (with the number
 * of repeats since); every one is counted in {@code isthmus_replicas_tls_rejected_total{rule}}.
 */
public final class RefusalLog implements Consumer<ReplicaTls.Refusal> {
    static final Duration QUIET = Duration.ofSeconds(60);
    /** Distinct messages remembered; beyond that the memory starts over (an attacker varying certificates). */
    private static final int REMEMBERED = 1_000;
    private static final Logger log = LoggerFactory.getLogger(RefusalLog.class);

    private record Seen(long loggedAtMillis, AtomicLong repeats) {
    }

    private final Metrics.Counter counter;
    private final Clock clock;
    private final ConcurrentHashMap<String, Seen> seen = new ConcurrentHashMap<>();

    public RefusalLog(Metrics metrics, Clock clock) {
        this.counter = metrics.counter("isthmus_replicas_tls_rejected_total",
                "Replica (Pekko Artery) connections refused or cut for their TLS or certificate, by rule.", "rule");
        this.clock = clock;
    }

    @Override
    public void accept(ReplicaTls.Refusal refusal) {
        counter.inc(refusal.rule());
        long now = clock.millis();
        if (seen.size() > REMEMBERED) {
            seen.clear();
        }
        Seen before = seen.get(refusal.message());
        if (before != null && now - before.loggedAtMillis() < QUIET.toMillis()) {
            before.repeats().incrementAndGet();
            return;
        }
        Seen next = new Seen(now, new AtomicLong());
        if (before == null ? seen.putIfAbsent(refusal.message(), next) != null : !seen.replace(refusal.message(), before, next)) {
            return; // another thread logs it
        }
        long repeats = before == null ? 0 : before.repeats().get();
        log.warn("replicas: refused [{}]: {}{}", refusal.rule(), refusal.message(),
                repeats == 0 ? "" : " (and " + repeats + " times more in the last " + QUIET.toSeconds() + " s)");
    }
}
