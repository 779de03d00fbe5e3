package io.isthmus.dns;

import org.xbill.DNS.Message;

/**
 * Puts one query to the upstream resolvers, trying them in turn, and says what came of it. Blocks for up to
 * (timeout × attempts); call it on a virtual thread. {@link UdpTcpUpstreams} is the real one; tests use fakes.
 */
interface UpstreamClient {

    Result ask(Message query);

    sealed interface Result {
    }

    /** A response whose id and question match the query (any rcode). */
    record Answered(Message response) implements Result {
    }

    /** No upstream answered in time. */
    record TimedOut() implements Result {
    }

    /** Every try failed some other way: connection refused, port unreachable, a response that did not parse. */
    record Failed(String reason) implements Result {
    }
}
