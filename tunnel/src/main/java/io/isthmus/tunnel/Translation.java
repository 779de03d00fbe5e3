package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;
import java.util.List;
import java.util.Map;

/**
 * One-to-one address translation for a cluster whose real ranges overlap another cluster's: each real network is
 * paired with a global network of the same size (from the cluster's global segment), address i of one being
 * address i of the other. Outbound, a source in a real network becomes the global address; inbound, a destination
 * in a global network becomes the real one. Peers see, route to and accept only the global addresses.
 *
 * <p>Rewriting keeps checksums right incrementally (RFC 1624): the IPv4 header checksum and, in a first or only
 * fragment, the TCP, UDP (unless an IPv4 UDP checksum is 0: none) or ICMPv6 checksum, whose pseudo-header holds
 * the address. ICMP errors quoting a translated packet are passed with the quoted header untranslated.
 */
public final class Translation {
    /** A real network and the global network that stands for it. */
    public record Mapping(Cidr real, Cidr global) {
        public Mapping {
            if (real.isIpv4() != global.isIpv4() || real.prefix() != global.prefix()) {
                throw new InvalidFieldException("tunnel.translation", real + " -> " + global,
                        "real and global networks must be of one family and one prefix length");
            }
        }
    }

    private final List<Mapping> mappings;
    private final CidrTable<Mapping> byReal;
    private final CidrTable<Mapping> byGlobal;

    public Translation(List<Mapping> mappings) {
        this.mappings = List.copyOf(mappings);
        this.byReal = new CidrTable<>(mappings.stream().map(m -> Map.entry(m.real(), m)).toList());
        this.byGlobal = new CidrTable<>(mappings.stream().map(m -> Map.entry(m.global(), m)).toList());
    }

    public static Translation none() {
        return new Translation(List.of());
    }

    public List<Mapping> mappings() {
        return mappings;
    }

    public boolean isEmpty() {
        return mappings.isEmpty();
    }

    /** Outbound: a source address in a real network becomes its global address. */
    void outbound(byte[] packet, int at, int length, int version) {
        int source = at + InnerPacket.sourceOffset(version);
        Mapping mapping = version == 4 ? byReal.lookupIpv4(packet, source) : byReal.lookupIpv6(packet, source);
        if (mapping != null) {
            rewrite(packet, at, length, version, source, mapping.real(), mapping.global());
        }
    }

    /** Inbound: a destination address in a global network becomes its real address. */
    void inbound(byte[] packet, int at, int length, int version) {
        int destination = at + InnerPacket.destinationOffset(version);
        Mapping mapping = version == 4 ? byGlobal.lookupIpv4(packet, destination)
                : byGlobal.lookupIpv6(packet, destination);
        if (mapping != null) {
            rewrite(packet, at, length, version, destination, mapping.global(), mapping.real());
        }
    }

    /** Replaces the network part of the address at {@code address} ({@code from}'s prefix) with {@code to}'s. */
    private static void rewrite(byte[] packet, int at, int length, int version, int address, Cidr from, Cidr to) {
        int bytes = version == 4 ? 4 : 16;
        long oldSum = Checksums.add(packet, address, bytes, 0);
        byte[] network = to.network().getAddress();
        int prefix = to.prefix();
        for (int i = 0; i < bytes && i * 8 < prefix; i++) {
            int bitsHere = Math.min(8, prefix - i * 8);
            int mask = (0xFF00 >>> bitsHere) & 0xFF; // the network bits of this byte
            packet[address + i] = (byte) ((network[i] & mask) | (packet[address + i] & ~mask & 0xFF));
        }
        long newSum = Checksums.add(packet, address, bytes, 0);
        int ipHeader;
        int protocol;
        boolean firstFragment;
        if (version == 4) {
            ipHeader = (packet[at] & 0x0F) * 4;
            protocol = packet[at + 9] & 0xFF;
            firstFragment = (Checksums.get16(packet, at + 6) & 0x1FFF) == 0;
            adjust(packet, at + 10, oldSum, newSum);
        } else {
            ipHeader = InnerPacket.IPV6_HEADER;
            protocol = packet[at + 6] & 0xFF; // extension headers: the transport is not found, nothing to adjust
            firstFragment = true;
        }
        if (!firstFragment) {
            return;
        }
        int transport = at + ipHeader;
        int field = switch (protocol) {
            case 6 -> transport + 16;
            case 17 -> transport + 6;
            case 58 -> version == 6 ? transport + 2 : -1;
            default -> -1;
        };
        if (field < 0 || field + 2 > at + length) {
            return;
        }
        if (protocol == 17 && version == 4 && Checksums.get16(packet, field) == 0) {
            return; // an IPv4 UDP datagram without a checksum stays without one
        }
        adjust(packet, field, oldSum, newSum);
        if (protocol == 17 && Checksums.get16(packet, field) == 0) {
            Checksums.put16(packet, field, 0xFFFF);
        }
    }

    /** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for the words of the old and new address. */
    private static void adjust(byte[] packet, int field, long oldSum, long newSum) {
        int checksum = Checksums.get16(packet, field);
        long sum = (~checksum & 0xFFFF) + (~Checksums.fold(oldSum) & 0xFFFF) + Checksums.fold(newSum);
        Checksums.put16(packet, field, ~Checksums.fold(sum) & 0xFFFF);
    }

    @Override
    public String toString() {
        return "Translation" + mappings;
    }
}
