package io.isthmus.api.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;

import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;

/** An inclusive range of addresses of one family, {@code first <= last}: {@code 10.8.0.10-10.8.0.20}. */
public record AddressRange(InetAddress first, InetAddress last) {
    public AddressRange {
        if (first == null || last == null) {
            throw new InvalidFieldException("range", "", "needs a first and a last address");
        }
        if ((first instanceof Inet4Address) != (last instanceof Inet4Address)) {
            throw new InvalidFieldException("range", LeasedAddress.text(first) + "-" + LeasedAddress.text(last),
                    "first and last must be of one family");
        }
        if (number(first).compareTo(number(last)) > 0) {
            throw new InvalidFieldException("range", LeasedAddress.text(first) + "-" + LeasedAddress.text(last),
                    "first must not be after last");
        }
    }

    /** Parses {@code FIRST-LAST}, a single address, or a CIDR (all of its addresses). */
    public static AddressRange parse(String field, String text) {
        String value = text == null ? "" : text.trim();
        try {
            if (value.contains("/")) {
                Cidr cidr = Cidr.parse(field, value);
                return new AddressRange(cidr.network(), cidr.addressAt(cidr.size().subtract(BigInteger.ONE)));
            }
            int dash = value.indexOf('-');
            if (dash < 0) {
                InetAddress single = IpLiteral.parse(field, value);
                return new AddressRange(single, single);
            }
            return new AddressRange(IpLiteral.parse(field, value.substring(0, dash)),
                    IpLiteral.parse(field, value.substring(dash + 1)));
        } catch (InvalidFieldException e) {
            throw new InvalidFieldException(field, text, "must be FIRST-LAST, an address or a CIDR (" + e.reason() + ")");
        }
    }

    public boolean isIpv4() {
        return first instanceof Inet4Address;
    }

    /** True when every address of the range is in {@code cidr}. */
    public boolean isInside(Cidr cidr) {
        return cidr.contains(first) && cidr.contains(last);
    }

    public boolean contains(InetAddress address) {
        return (address instanceof Inet4Address) == isIpv4()
                && number(first).compareTo(number(address)) <= 0 && number(address).compareTo(number(last)) <= 0;
    }

    static BigInteger number(InetAddress address) {
        return new BigInteger(1, address.getAddress());
    }

    @Override
    public String toString() {
        return first.equals(last) ? LeasedAddress.text(first) : LeasedAddress.text(first) + "-" + LeasedAddress.text(last);
    }
}
