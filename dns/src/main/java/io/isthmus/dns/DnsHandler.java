package io.isthmus.dns;

import org.xbill.DNS.Message;

/**
 * One link of the handler chain ({@link DnsChain}): a small piece of DNS behaviour such as the clusterset zone,
 * a cache or a forwarder. Handlers are stateless towards the chain and may be called from many threads at once.
 *
 * <p>What {@link #serve} returns means:
 * <ul>
 *   <li>a message built from {@link DnsRequest#reply(int)}: this handler answered; the chain stops here and the
 *       server sends it (adding EDNS and truncating to the client's size on its own);</li>
 *   <li>whatever {@code next.serve(request)} returned: this handler does not own the query and passes it on
 *       (a handler may also look at or replace what {@code next} answered, as a cache will).</li>
 * </ul>
 * It never returns {@code null}. Throwing is a bug, not a way to decline: the server logs it and answers SERVFAIL.
 */
@FunctionalInterface
public interface DnsHandler {

    /** Answers {@code request}, or returns {@code next.serve(request)} to let the rest of the chain answer. */
    Message serve(DnsRequest request, Next next);

    /**
     * Whether {@link #serve} may wait on the network (a forwarder does). The server then runs the chain on a
     * virtual thread, never on a thread that receives datagrams. Handlers that answer from memory keep the default.
     */
    default boolean mayBlock() {
        return false;
    }

    /** The rest of the chain after a handler. Always returns a response. */
    @FunctionalInterface
    interface Next {
        Message serve(DnsRequest request);
    }
}
