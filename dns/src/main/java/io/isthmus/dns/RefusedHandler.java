package io.isthmus.dns;

import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;

/**
 * The end of the chain: REFUSED, not authoritative, for any name no earlier handler answered: every name outside
 * the clusterset zone when forwarding is off; we are no open resolver.
 */
public final class RefusedHandler implements DnsHandler {
    @Override
    public Message serve(DnsRequest request, Next next) {
        return request.reply(Rcode.REFUSED);
    }
}
