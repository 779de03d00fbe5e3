package io.isthmus.fastpath.sriov;

import java.io.IOException;

/**
 * The kernel refused VF settings; the message says which settings on which PF and VF, the errno, and what to do,
 * e.g. {@code setting VF 0 of veth0 (mac 02:00:00:00:00:01) failed: EOPNOTSUPP; veth0 has no SR-IOV VFs to set ...}.
 */
public final class VfConfigurationException extends IOException {
    private final int errno;

    VfConfigurationException(String message, int errno, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    /** The Linux errno the kernel answered, e.g. 95 (EOPNOTSUPP). */
    public int errno() {
        return errno;
    }
}
