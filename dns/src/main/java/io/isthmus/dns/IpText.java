package io.isthmus.dns;

import io.isthmus.api.IpLiteral;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** The DNS side of address text: the dashed labels of endpoints; the canonical text itself is {@link IpLiteral#format}. */
final class IpText {
    private IpText() {
    }

    /**
     * The label Kubernetes gives an endpoint without a hostname: its address with '.' or ':' as '-',
     * {@code 10-244-1-5} or {@code fd00--1}.
     */
    static String dashed(InetAddress address) {
        return IpLiteral.format(address).replace('.', '-').replace(':', '-');
    }

    static InetAddress fromBytes(byte[] address) {
        try {
            return address.length == 16 ? Inet6Address.getByAddress(null, address, null) : InetAddress.getByAddress(address);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("an address is 4 or 16 bytes, not " + address.length, e);
        }
    }
}
