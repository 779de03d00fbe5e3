package io.isthmus.api.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.IpLiteral;

import java.net.InetAddress;
import java.util.Optional;

/** One address of a lease with what a workload needs to configure it: its network (for the prefix) and gateway. */
public record LeasedAddress(InetAddress address, Cidr network, Optional<InetAddress> gateway) {
    public LeasedAddress {
        gateway = gateway == null ? Optional.empty() : gateway;
    }

    /** {@code 10.8.0.5/16}: the form CNI results and {@code ip addr add} use. */
    public String withPrefix() {
        return text(address) + "/" + network.prefix();
    }

    /** An address in its canonical text form (IPv6 compressed, RFC 5952), as Cidr prints networks. */
    public static String text(InetAddress address) {
        return IpLiteral.format(address);
    }
}
