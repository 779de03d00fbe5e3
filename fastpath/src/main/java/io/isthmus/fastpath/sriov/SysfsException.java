package io.isthmus.fastpath.sriov;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A sysfs file that SR-IOV discovery reads is missing, unreadable or holds what the kernel never writes there; the
 * message names the file and what it held, e.g.
 * {@code /sys/class/net/enp59s0f0/device/sriov_numvfs holds 'x': not a number of VFs}.
 */
public final class SysfsException extends IOException {
    private final Path path;
    private final String value;

    SysfsException(Path path, String value, String reason) {
        super(path + (value == null ? "" : " holds '" + value + "'") + ": " + reason);
        this.path = path;
        this.value = value;
    }

    SysfsException(Path path, String reason, IOException cause) {
        super(path + ": " + reason + ": " + cause, cause);
        this.path = path;
        this.value = null;
    }

    public Path path() {
        return path;
    }

    /** What the file held, or null when it could not be read. */
    public String value() {
        return value;
    }
}
