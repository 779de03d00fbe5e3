package io.isthmus.fastpath.sriov;

import io.isthmus.fastpath.InvalidArgumentException;

import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/** A 48-bit Ethernet address, {@code 02:00:5e:10:00:01}. */
public record MacAddress(byte[] bytes) {
    private static final Pattern TEXT = Pattern.compile("\\p{XDigit}{2}(:\\p{XDigit}{2}){5}");

    public MacAddress {
        if (bytes.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, not " + bytes.length);
        }
        bytes = bytes.clone();
    }

    /** Parses {@code aa:bb:cc:dd:ee:ff} (either case); {@code field} names the input in the error. */
    public static MacAddress parse(String field, String text) {
        if (text == null || !TEXT.matcher(text).matches()) {
            throw new InvalidArgumentException(field, text, "is not a MAC address (six hex pairs joined by ':')");
        }
        return new MacAddress(HexFormat.ofDelimiter(":").parseHex(text.toLowerCase(Locale.ROOT)));
    }

    /** The group bit: a multicast (or broadcast) address, which no VF may take as its own. */
    public boolean multicast() {
        return (bytes[0] & 1) != 0;
    }

    /** All zero: to a VF, "no address set" (the driver or the guest picks one). */
    public boolean zero() {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof MacAddress mac && java.util.Arrays.equals(bytes, mac.bytes);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return HexFormat.ofDelimiter(":").formatHex(bytes);
    }
}
