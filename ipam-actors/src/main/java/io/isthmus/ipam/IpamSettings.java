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
 * @param resendInterval      an idempotent request still unanswered after this long is sent again (until
 *                            {@code askTimeout}): one sent to a replica that just died is lost, not answered, until
 *                            the cluster has removed that replica and its pools started elsewhere
 * @param reuseDelay          a freed address goes to another owner only this long after it was freed (unless no
 *                            other address is free): other hosts' ARP/neighbour caches may still point at the old
 *                            owner; zero turns it off
 */
public record IpamSettings(Duration reservationTimeout, Duration expiryCheckInterval, Duration reclaimGrace,
                           Duration reclaimInterval, Duration askTimeout, int maxBatch, int snapshotEvery,
                           Duration resendInterval, Duration reuseDelay) {
    public IpamSettings {
        if (maxBatch < 1 || snapshotEvery < 1) {
            throw new IllegalArgumentException("max-batch and snapshot-every must be at least 1");
        }
        if (resendInterval.isNegative() || resendInterval.isZero()) {
            throw new IllegalArgumentException("resend-interval must be positive, not " + resendInterval);
        }
        if (reuseDelay.isNegative()) {
            throw new IllegalArgumentException("reuse-delay must not be negative, not " + reuseDelay);
        }
    }

    public static IpamSettings fromConfig(Config root) {
        Config c = root.getConfig("isthmus.ipam");
        return new IpamSettings(c.getDuration("reservation-timeout"), c.getDuration("expiry-check-interval"),
                c.getDuration("reclaim-grace"), c.getDuration("reclaim-interval"), c.getDuration("ask-timeout"),
                c.getInt("max-batch"), c.getInt("snapshot-every"),
                c.getDuration("resend-interval"), c.getDuration("reuse-delay"));
    }

    public IpamSettings withReservationTimeout(Duration value) {
        return new IpamSettings(value, expiryCheckInterval, reclaimGrace, reclaimInterval, askTimeout, maxBatch, snapshotEvery, resendInterval, reuseDelay);
    }

    public IpamSettings withExpiryCheckInterval(Duration value) {
        return new IpamSettings(reservationTimeout, value, reclaimGrace, reclaimInterval, askTimeout, maxBatch, snapshotEvery, resendInterval, reuseDelay);
    }

    public IpamSettings withReclaimGrace(Duration value) {
        return new IpamSettings(reservationTimeout, expiryCheckInterval, value, reclaimInterval, askTimeout, maxBatch, snapshotEvery, resendInterval, reuseDelay);
    }

    public IpamSettings withReclaimInterval(Duration value) {
        return new IpamSettings(reservationTimeout, expiryCheckInterval, reclaimGrace, value, askTimeout, maxBatch, snapshotEvery, resendInterval, reuseDelay);
    }

    public IpamSettings withReuseDelay(Duration value) {
        return new IpamSettings(reservationTimeout, expiryCheckInterval, reclaimGrace, reclaimInterval, askTimeout, maxBatch,
                snapshotEvery, resendInterval, value);
    }

    public IpamSettings withSnapshotEvery(int value) {
        return new IpamSettings(reservationTimeout, expiryCheckInterval, reclaimGrace, reclaimInterval, askTimeout, maxBatch, value, resendInterval, reuseDelay);
    }
}
