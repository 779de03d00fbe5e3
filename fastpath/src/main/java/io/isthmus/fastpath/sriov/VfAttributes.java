package io.isthmus.fastpath.sriov;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes a {@link VfConfig} as the rtattrs of an {@code RTM_SETLINK} to the PF ({@code <linux/if_link.h>}):
 *
 * <pre>
 * IFLA_VFINFO_LIST (22, nested)
 *   IFLA_VF_INFO (1, nested)
 *     IFLA_VF_MAC (1)       struct ifla_vf_mac      { u32 vf; u8 mac[32]; }           36 bytes
 *     IFLA_VF_VLAN (2)      struct ifla_vf_vlan     { u32 vf; u32 vlan; u32 qos; }    12
 *     IFLA_VF_RATE (6)      struct ifla_vf_rate     { u32 vf; u32 min_tx_rate; u32 max_tx_rate; } 12
 *     IFLA_VF_SPOOFCHK (4)  struct ifla_vf_spoofchk { u32 vf; u32 setting; }           8
 *     IFLA_VF_TRUST (9)     struct ifla_vf_trust    { u32 vf; u32 setting; }           8
 * </pre>
 *
 * Host byte order, as netlink is; every attribute a 4-byte rtattr header ({@code u16 len, u16 type}) padded to 4.
 * The kernel applies them in its own order (mac, vlan, rate, spoofchk, trust) and stops at the first refusal.
 */
public final class VfAttributes {
    static final int IFLA_VFINFO_LIST = 22;
    static final int IFLA_VF_INFO = 1;
    static final int IFLA_VF_MAC = 1;
    static final int IFLA_VF_VLAN = 2;
    static final int IFLA_VF_SPOOFCHK = 4;
    static final int IFLA_VF_RATE = 6;
    static final int IFLA_VF_TRUST = 9;
    /** Marks an attribute whose payload is attributes. */
    static final int NLA_F_NESTED = 0x8000;
    /** MAX_ADDR_LEN: the mac field's size, whatever the link layer's address length. */
    static final int MAC_FIELD = 32;

    private VfAttributes() {
    }

    /** The {@code IFLA_VFINFO_LIST} attribute carrying what {@code config} sets. */
    public static byte[] encode(VfConfig config) {
        if (config.isEmpty()) {
            throw new IllegalArgumentException("VF " + config.vf() + ": nothing to set");
        }
        ByteBuffer inner = buffer(256);
        config.mac().ifPresent(mac -> {
            begin(inner, IFLA_VF_MAC, 4 + MAC_FIELD);
            inner.putInt(config.vf()).put(mac.bytes()).put(new byte[MAC_FIELD - 6]);
        });
        config.vlan().ifPresent(vlan -> {
            begin(inner, IFLA_VF_VLAN, 12);
            inner.putInt(config.vf()).putInt(vlan.id()).putInt(vlan.qos());
        });
        config.rate().ifPresent(rate -> {
            begin(inner, IFLA_VF_RATE, 12);
            inner.putInt(config.vf()).putInt(rate.minMbps()).putInt(rate.maxMbps());
        });
        config.spoofCheck().ifPresent(on -> {
            begin(inner, IFLA_VF_SPOOFCHK, 8);
            inner.putInt(config.vf()).putInt(on ? 1 : 0);
        });
        config.trust().ifPresent(on -> {
            begin(inner, IFLA_VF_TRUST, 8);
            inner.putInt(config.vf()).putInt(on ? 1 : 0);
        });
        // every payload above is a multiple of 4 bytes, so no padding falls between or after them
        int infoLength = 4 + inner.position();
        ByteBuffer out = buffer(4 + infoLength);
        begin(out, IFLA_VFINFO_LIST | NLA_F_NESTED, infoLength);
        begin(out, IFLA_VF_INFO | NLA_F_NESTED, inner.position());
        out.put(inner.flip());
        return out.array();
    }

    private static ByteBuffer buffer(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.nativeOrder());
    }

    private static void begin(ByteBuffer into, int type, int payloadLength) {
        into.putShort((short) (4 + payloadLength)).putShort((short) type);
    }
}
