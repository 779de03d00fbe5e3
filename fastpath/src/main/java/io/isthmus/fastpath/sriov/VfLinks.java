package io.isthmus.fastpath.sriov;

import io.isthmus.fastpath.RouteNetlink;
import io.isthmus.fastpath.SystemCallException;

import java.io.IOException;

/**
 * Sets VF MAC, VLAN, rate, spoof checking and trust through the PF's netlink link ({@code RTM_SETLINK} with
 * {@code IFLA_VFINFO_LIST}, what {@code ip link set PF vf N ...} sends), over a {@link RouteNetlink} socket of the
 * PF's network namespace. Needs CAP_NET_ADMIN.
 */
public final class VfLinks {
    private static final int EINVAL = 22;
    private static final int EOPNOTSUPP = 95;

    private final RouteNetlink netlink;

    public VfLinks(RouteNetlink netlink) {
        this.netlink = netlink;
    }

    /**
     * Applies {@code config} to VF {@code config.vf()} of {@code pf} in one request; returns once the kernel applied
     * every setting. The kernel stops at the first setting the driver refuses, so on failure the ones it applies
     * before it (in the order mac, vlan, rate, spoofchk, trust) may have taken effect.
     *
     * @throws VfConfigurationException where the kernel or driver refused (EOPNOTSUPP: not a PF, or the driver lacks
     *                                  the setting; EINVAL: no such VF, or a value the driver does not take)
     * @throws SystemCallException      for other failures (no such device, no CAP_NET_ADMIN), saying what to do
     */
    public void configure(String pf, VfConfig config) throws IOException {
        String what = "setting VF " + config.vf() + " of " + pf + " (" + config.describe() + ")";
        byte[] attributes = VfAttributes.encode(config);
        try {
            netlink.setLinkAttributes(pf, attributes, what);
        } catch (SystemCallException e) {
            String advice = switch (e.errno()) {
                case EOPNOTSUPP -> pf + " has no SR-IOV VFs to set, or its driver lacks one of these settings (each"
                        + " driver implements its own subset): name a PF that `isthmus diagnose` lists, and leave out"
                        + " what its driver does not do";
                case EINVAL -> "VF " + config.vf() + " may not be enabled on " + pf + " (see its sriov_numvfs), or the"
                        + " driver refused a value";
                default -> null;
            };
            if (advice == null) {
                throw e;
            }
            throw new VfConfigurationException(e.getMessage() + "; " + advice, e.errno(), e);
        }
    }
}
