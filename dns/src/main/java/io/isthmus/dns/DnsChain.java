package io.isthmus.dns;

import io.isthmus.api.ServiceDirectory;
import java.util.ArrayList;
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
    private final boolean mayBlock;

    public DnsChain(List<DnsHandler> handlers) {
        this.handlers = List.copyOf(handlers);
        DnsHandler.Next next = request -> request.reply(Rcode.SERVFAIL);
        // Built back to front once, so serving a query allocates no chain objects.
        for (DnsHandler handler : this.handlers.reversed()) {
            DnsHandler.Next rest = next;
            next = request -> handler.serve(request, rest);
        }
        this.head = next;
        this.mayBlock = this.handlers.stream().anyMatch(DnsHandler::mayBlock);
    }

    /**
     * The one place the order of the handlers is declared:
     * <ol>
     *   <li>{@link ClustersetZoneHandler}: answers everything under the clusterset zone, authoritatively, and
     *       the PTR names of the ClusterSetIPs it serves;</li>
     *   <li>{@link ForwardHandler}, when the config lists upstreams: every other IN-class name, for clients on
     *       the allow-list (with its own response cache);</li>
     *   <li>{@link RefusedHandler}: REFUSED for whatever no earlier handler answered.</li>
     * </ol>
     * The forwarder counts its cache and upstream outcomes into {@code counters}, which should be the server's.
     */
    public static DnsChain standard(DnsConfig config, Supplier<ServiceDirectory> directory, DnsCounters counters) {
        List<DnsHandler> handlers = new ArrayList<>();
        handlers.add(new ClustersetZoneHandler(config, directory));
        if (config.forwarding().enabled()) {
            handlers.add(new ForwardHandler(config.zone(), config.forwarding(), counters));
        }
        handlers.add(new RefusedHandler());
        return new DnsChain(handlers);
    }

    public Message serve(DnsRequest request) {
        return head.serve(request);
    }

    public List<DnsHandler> handlers() {
        return handlers;
    }

    /** Whether some handler may wait on the network, so the chain must not run on a receiving thread. */
    public boolean mayBlock() {
        return mayBlock;
    }
}
