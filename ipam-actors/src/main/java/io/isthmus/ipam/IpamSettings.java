package io.isthmus.ipam;

import com.typesafe.config.Config;

import java.time.Duration;

/**
 * Tuning of the IPAM core, from {@code isthmus.ipam} (defaults in this module's reference.conf).
 *
 * @param reservationTimeout  an uncommitted reservation expires after this long
 * @param expiryCheckInterval how often a pool looks for expired reservations
 * @param reclaimGrace        an owner must look gone for this long before its lease is reclaimed
 * @param reclaimInterval     how often a pool asks {@link OwnerLiveness} about its owners
 * @param askTimeout          how long the facade waits for a pool or the directory
 * @param maxBatch            at most this many requests go into one journal write
 * @param snapshotEvery       a pool saves a snapshot every this many journal entries (group commits; two are kept)
 */
public record IpamSettings(Duration reservationTimeout, Duration expiryCheckInterval, Duration reclaimGrace,
                           Duration reclaimInterval, Duration askTimeout, int maxBatch, int snapshotEvery) {
    public IpamSettings {
        if (maxBatch < 1 || snapshotEvery < 1) {
            throw new IllegalArgumentException("max-batch and snapshot-every must be at least 1");
        }
    }

    public static IpamSettings fromConfig(Config root) {
        Config c = root.getConfig("isthmus.ipam");
        return new IpamSettings(c.getDuration("reservation-timeout"), c.getDuration("expiry-check-interval"),
                c.getDuration("reclaim-grace"), c.getDuration("reclaim-interval"), c.getDuration("ask-timeout"),
                c.getInt("max-batch"), c.getInt("snapshot-every"));
    }

    public IpamSettings withReservationTimeout(Duration value) {
        return new IpamSettings(value, expiryCheckInterval, reclaimGrace, reclaimInterval, askTimeout, maxBatch, snapshotEvery);
    }

    public IpamSettings withExpiryCheckInterval(Duration value) {
        return new IpamSettings(reservationTimeout, value, reclaimGrace, reclaimInterval, askTimeout, maxBatch, snapshotEvery);
    }

    public IpamSettings withReclaimGrace(Duration value) {
        return new IpamSettings(reservationTimeout, expiryCheckInterval, value, reclaimInterval, askTimeout, maxBatch, snapshotEvery);
    }

    public IpamSettings withReclaimInterval(Duration value) {
        return new IpamSettings(reservationTimeout, expiryCheckInterval, reclaimGrace, value, askTimeout, maxBatch, snapshotEvery);
    }

    public IpamSettings withSnapshotEvery(int value) {
        return new IpamSettings(reservationTimeout, expiryCheckInterval, reclaimGrace, reclaimInterval, askTimeout, maxBatch, value);
    }
}
