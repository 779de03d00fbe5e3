package io.isthmus.fastpath;

import java.io.IOException;

/**
 * A system call or a kernel request (an ioctl, a netlink message) failed: the message says what was asked, the errno
 * by name and, where there is one, what to do about it, e.g.
 * {@code adding route 10.1.0.0/16 dev tun0 failed: EPERM; needs CAP_NET_ADMIN (run as root)}. {@link #errno()} lets a
 * caller tell cases apart (a route that already exists) without reading the message.
 */
public final class SystemCallException extends IOException {
    private final int errno;

    SystemCallException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The Linux errno, e.g. 1 for EPERM. */
    public int errno() {
        return errno;
    }

    /** The errno's symbolic name, e.g. {@code EPERM}. */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** EPERM or EACCES: the caller lacks a privilege (for network configuration, CAP_NET_ADMIN). */
    public boolean notPermitted() {
        return errno == Errno.EPERM || errno == Errno.EACCES;
    }

    /** EEXIST: what was to be added exists already. */
    public boolean alreadyExists() {
        return errno == Errno.EEXIST;
    }
}
