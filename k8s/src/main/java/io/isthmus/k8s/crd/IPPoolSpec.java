package io.isthmus.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * What an {@link IPPool} asks for; the field names are those of {@code io.isthmus.api.ipam.PoolSpec}.
 *
 * @param kind     the kind of clusterset segment the CIDRs must lie in: {@code pod}, {@code service}, {@code underlay}
 *                 or {@code global} (default {@code pod})
 * @param cidrs    one IPv4 and/or one IPv6 CIDR
 * @param exclude  ranges never allocated: {@code FIRST-LAST}, an address, or a CIDR
 * @param reserved addresses given only when asked for explicitly (a static IP)
 * @param gateways at most one per family; never allocated, handed out with every lease
 * @param routes   routes handed out with every lease
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record IPPoolSpec(String kind, List<String> cidrs, List<String> exclude, List<String> reserved,
                         List<String> gateways, List<PoolRoute> routes) {

    /** A route: {@code destination} CIDR, optional next hop {@code via}. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record PoolRoute(String destination, String via) {
    }
}
