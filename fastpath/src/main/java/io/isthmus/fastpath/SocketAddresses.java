package io.isthmus.fastpath;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/** {@code sockaddr_in} / {@code sockaddr_in6} to and from {@link InetSocketAddress}, in native memory. */
final class SocketAddresses {
    /** The bytes of one address slot: room for either family. */
    static final long SLOT = Syscalls.SOCKADDR_IN6.byteSize();
    static final int IPV4_LENGTH = Math.toIntExact(Syscalls.SOCKADDR_IN.byteSize());
    static final int IPV6_LENGTH = Math.toIntExact(Syscalls.SOCKADDR_IN6.byteSize());

    // Family and port sit at the same offsets in both structs. Coordinates: (segment, offset of the struct).
    private static final VarHandle FAMILY = Syscalls.SOCKADDR_IN6.varHandle(groupElement("sin6_family"))
            .withInvokeExactBehavior();
    private static final VarHandle PORT = Syscalls.SOCKADDR_IN6.varHandle(groupElement("sin6_port"))
            .withInvokeExactBehavior();
    private static final VarHandle SCOPE_ID = Syscalls.SOCKADDR_IN6.varHandle(groupElement("sin6_scope_id"))
            .withInvokeExactBehavior();
    private static final long IPV4_ADDR = Syscalls.SOCKADDR_IN.byteOffset(groupElement("sin_addr"));
    private static final long IPV6_ADDR = Syscalls.SOCKADDR_IN6.byteOffset(groupElement("sin6_addr"));

    private SocketAddresses() {
    }

    static int family(InetSocketAddress address) {
        return address.getAddress() instanceof Inet6Address ? Syscalls.AF_INET6 : Syscalls.AF_INET;
    }

    /**
     * Writes {@code address} at {@code offset} as a {@code family} socket address and returns its length. An IPv4
     * address on an IPv6 socket is written IPv4-mapped ({@code ::ffff:a.b.c.d}).
     */
    static int write(MemorySegment to, long offset, int family, InetSocketAddress address) {
        requireWritable(family, address);
        InetAddress ip = address.getAddress();
        short port = (short) address.getPort();
        to.asSlice(offset, SLOT).fill((byte) 0);
        if (family == Syscalls.AF_INET) {
            FAMILY.set(to, offset, (short) Syscalls.AF_INET);
            PORT.set(to, offset, port);
            MemorySegment.copy(ip.getAddress(), 0, to, ValueLayout.JAVA_BYTE, offset + IPV4_ADDR, 4);
            return IPV4_LENGTH;
        }
        FAMILY.set(to, offset, (short) Syscalls.AF_INET6);
        PORT.set(to, offset, port);
        if (ip instanceof Inet6Address v6) {
            MemorySegment.copy(v6.getAddress(), 0, to, ValueLayout.JAVA_BYTE, offset + IPV6_ADDR, 16);
            SCOPE_ID.set(to, offset, v6.getScopeId());
        } else {
            to.set(ValueLayout.JAVA_BYTE, offset + IPV6_ADDR + 10, (byte) 0xff);
            to.set(ValueLayout.JAVA_BYTE, offset + IPV6_ADDR + 11, (byte) 0xff);
            MemorySegment.copy(ip.getAddress(), 0, to, ValueLayout.JAVA_BYTE, offset + IPV6_ADDR + 12, 4);
        }
        return IPV6_LENGTH;
    }

    /** Throws unless {@code address} is an IP address a {@code family} socket can send to. */
    static void requireWritable(int family, InetSocketAddress address) {
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("unresolved address " + address + ": give an IP address");
        }
        if (family == Syscalls.AF_INET && !(address.getAddress() instanceof Inet4Address)) {
            throw new IllegalArgumentException(address + " is IPv6 and this socket is IPv4");
        }
    }

    /** The address at {@code offset}; an IPv4-mapped IPv6 address comes back as the IPv4 address. */
    static InetSocketAddress read(MemorySegment from, long offset) {
        int family = (short) FAMILY.get(from, offset);
        int port = port(from, offset);
        try {
            if (family == Syscalls.AF_INET) {
                byte[] ip = new byte[4];
                MemorySegment.copy(from, ValueLayout.JAVA_BYTE, offset + IPV4_ADDR, ip, 0, 4);
                return new InetSocketAddress(InetAddress.getByAddress(ip), port);
            }
            if (family == Syscalls.AF_INET6) {
                byte[] ip = new byte[16];
                MemorySegment.copy(from, ValueLayout.JAVA_BYTE, offset + IPV6_ADDR, ip, 0, 16);
                int scope = (int) SCOPE_ID.get(from, offset);
                InetAddress address = scope == 0 ? InetAddress.getByAddress(ip) : Inet6Address.getByAddress(null, ip, scope);
                return new InetSocketAddress(address, port);
            }
        } catch (UnknownHostException e) {
            throw new AssertionError("4 or 16 bytes are always an address", e);
        }
        throw new IllegalStateException("a socket address of family " + family + ", neither AF_INET nor AF_INET6");
    }

    static int port(MemorySegment from, long offset) {
        return Short.toUnsignedInt((short) PORT.get(from, offset));
    }
}
