package io.isthmus.gateway.peering;

import java.util.Locale;

public enum LinkState {
    /** Dialling, or waiting out a reconnect backoff. */
    CONNECTING,
    /** The peer said hello; exports flow both ways. */
    UP,
    /** The stream ended; an outbound link reconnects with backoff, an inbound one waits for the peer. */
    DOWN;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
