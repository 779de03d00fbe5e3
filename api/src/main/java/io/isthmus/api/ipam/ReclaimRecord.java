package io.isthmus.api.ipam;

import java.net.InetAddress;
import java.time.Instant;
import java.util.List;

/** One address set the reclaimer took back from an owner that was gone, and why. */
public record ReclaimRecord(String pool, Owner owner, List<InetAddress> addresses, Instant at, String reason) {
    public ReclaimRecord {
        addresses = List.copyOf(addresses);
    }
}
