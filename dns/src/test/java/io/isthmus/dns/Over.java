package io.isthmus.dns;

/** How a test client sends its question. */
enum Over {
    /** UDP only; a truncated answer is shown as it came (TC set), not retried. */
    UDP,
    TCP,
    /** UDP, and again over TCP when the answer comes back truncated, as resolvers do. */
    UDP_THEN_TCP
}
