package io.isthmus.dns;

import io.isthmus.api.ServiceDirectory;
import java.util.List;
import java.util.function.Supplier;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;

/**
 * Handlers run in one declared order; each gets the rest of the chain as {@code next}. If the last handler
 * passes too, the chain answers SERVFAIL (a chain that should not happen: {@link #standard} ends in a handler
 * that always answers).
 */
public final class DnsChain {
    private final List<DnsHandler> handlers;
    private final DnsHandler.Next head;

    public DnsChain(List<DnsHandler> handlers) {
        this.handlers = List.copyOf(handlers);
        DnsHandler.Next next = request -> request.reply(Rcode.SERVFAIL);
        // Built back to front once, so serving a query allocates no chain objects.
        for (DnsHandler handler : this.handlers.reversed()) {
            DnsHandler.Next rest = next;
            next = request -> handler.serve(request, rest);
        }
        this.head = next;
    }

    /**
     * The one place the order of the handlers is declared:
     * <ol>
     *   <li>{@link ClustersetZoneHandler}: answers everything under the clusterset zone, authoritatively;</li>
     *   <li>(later: cache, then forward to upstream resolvers for the names outside the zone);</li>
     *   <li>{@link RefusedHandler}: REFUSED for whatever no earlier handler answered.</li>
     * </ol>
     */
    public static DnsChain standard(DnsConfig config, Supplier<ServiceDirectory> directory) {
        return new DnsChain(List.of(
                new ClustersetZoneHandler(config.zone(), config.ttl(), directory),
                new RefusedHandler()));
    }

    public Message serve(DnsRequest request) {
        return head.serve(request);
    }

    public List<DnsHandler> handlers() {
        return handlers;
    }
}
