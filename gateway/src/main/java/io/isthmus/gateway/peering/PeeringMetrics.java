package io.isthmus.gateway.peering;

import io.isthmus.gateway.metrics.Metrics;

/** The peering counters; link state and import gauges are read from the mesh view by the admin server. */
public record PeeringMetrics(Metrics.Counter messagesReceived, Metrics.Counter messagesSent,
                             Metrics.Counter linksRejected, Metrics.Counter linkAttempts, Metrics.Counter resyncs,
                             Metrics.Counter tlsRejected, Metrics.Counter importsRefused,
                             Metrics.Counter resyncsDeferred, Metrics.Histogram propagation,
                             Metrics.Counter propagationClamped) {

    public static PeeringMetrics register(Metrics metrics) {
        return new PeeringMetrics(
                metrics.counter("isthmus_peering_messages_received_total",
                        "Peering messages received, by kind.", "kind"),
                metrics.counter("isthmus_peering_messages_sent_total",
                        "Peering messages sent, by kind.", "kind"),
                metrics.counter("isthmus_peering_links_rejected_total",
                        "Peer streams closed or refused because the peer broke the protocol or a limit, by reason.", "reason"),
                metrics.counter("isthmus_peering_link_attempts_total",
                        "Outbound connection attempts to peers, by peer address.", "peer"),
                metrics.counter("isthmus_peering_resyncs_total",
                        "Full export snapshots sent at the start of a peer stream (every connect and reconnect)."),
                metrics.counter("isthmus_peering_tls_rejected_total",
                        "Peer certificates refused during the TLS handshake, by rule.", "rule"),
                metrics.counter("isthmus_peering_imports_refused_total",
                        "What peers sent that was not imported, by peer cluster and reason: a quota (exports-per-peer, "
                                + "endpoints-per-export, endpoints-per-peer: messages refused) or namespace (exports into a namespace that takes no imports).",
                        "peer", "reason"),
                metrics.counter("isthmus_peering_resyncs_deferred_total", "Full snapshots a peer asked for within "
                        + "isthmus.peering.limits.resync-min-interval of the last one, sent once the interval is over."),
                metrics.histogram("isthmus_peering_propagation_seconds", "From a peer cluster's gateway taking a new "
                        + "version of its exports (its clock, corrected by the estimated clock skew of that peer) to "
                        + "this gateway applying the delta, by peer cluster. Deltas that arrive before the link has a "
                        + "skew estimate, or from peers too old to send the time, are not timed.",
                        Metrics.DEFAULT_SECONDS_BUCKETS, "peer"),
                metrics.counter("isthmus_peering_propagation_clamped_total", "Propagation samples that came out "
                        + "negative after the skew correction (the estimate is off by up to half the round trip) "
                        + "and were recorded as 0, by peer cluster.", "peer"));
    }

    /** Shows the peer's propagation series from its link's hello on, before the first delta is timed. */
    void linked(io.isthmus.api.ClusterId peer) {
        propagation.initialise(peer.value());
    }

    /** Times a delta from {@code peer} applied now, when {@link Propagation#of} can. */
    void recordPropagation(io.isthmus.api.ClusterId peer, long changedAtMicros, java.time.Instant appliedAt,
                           ClockSkew.Estimate peerSkew) {
        Propagation.of(changedAtMicros, appliedAt, peerSkew).ifPresent(sample -> {
            // in seconds as a double: a peer's made-up time can be centuries off, past what nanoseconds hold
            propagation.observe(sample.elapsed().getSeconds() + sample.elapsed().getNano() / 1e9, peer.value());
            if (sample.clamped()) {
                propagationClamped.inc(peer.value());
            }
        });
    }

    /** Counts refused imports into {@code importsRefused}. */
    public MeshView.RefusalCounter refusalCounter() {
        return (peer, reason, amount) -> importsRefused.add(amount, peer.value(), reason);
    }
}
