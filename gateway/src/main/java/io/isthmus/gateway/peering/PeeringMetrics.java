package io.isthmus.gateway.peering;

import io.isthmus.gateway.metrics.Metrics;

/** The peering counters; link state and import gauges are read from the mesh view by the admin server. */
public record PeeringMetrics(Metrics.Counter messagesReceived, Metrics.Counter messagesSent,
                             Metrics.Counter linksRejected, Metrics.Counter linkAttempts, Metrics.Counter resyncs,
                             Metrics.Counter tlsRejected, Metrics.Counter importsRefused,
                             Metrics.Counter resyncsDeferred) {

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
                        + "isthmus.peering.limits.resync-min-interval of the last one, sent once the interval is over."));
    }

    /** Counts refused imports into {@code importsRefused}. */
    public MeshView.RefusalCounter refusalCounter() {
        return (peer, reason, amount) -> importsRefused.add(amount, peer.value(), reason);
    }
}
