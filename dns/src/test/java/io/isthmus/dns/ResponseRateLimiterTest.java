package io.isthmus.dns;

import static io.isthmus.dns.ResponseRateLimiter.Verdict.DROP;
import static io.isthmus.dns.ResponseRateLimiter.Verdict.SEND;
import static io.isthmus.dns.ResponseRateLimiter.Verdict.SLIP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.InvalidFieldException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The token buckets of response rate limiting, on a clock the test moves. */
class ResponseRateLimiterTest {
    private static final long SECOND = 1_000_000_000L;
    /** 10 a second, bursts of 5, every second withheld response slips, nobody exempt. */
    private static final RateLimit TEN_A_SECOND = RateLimit.DEFAULTS.withResponsesPerSecond(10).withBurst(5)
            .withSlip(2).withExemptClients(List.of());

    @Test
    void aPrefixGetsItsBurstThenEverySecondWithheldResponseSlips() {
        ResponseRateLimiter limiter = new ResponseRateLimiter(TEN_A_SECOND);
        List<ResponseRateLimiter.Verdict> verdicts = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            verdicts.add(limiter.judge(ip("192.0.2.7"), 0));
        }
        assertEquals(List.of(SEND, SEND, SEND, SEND, SEND, DROP, SLIP, DROP, SLIP), verdicts);
    }

    @Test
    void theBucketRefillsAtTheRateAndNoFurtherThanTheBurst() {
        ResponseRateLimiter limiter = new ResponseRateLimiter(TEN_A_SECOND.withSlip(0));
        for (int i = 0; i < 5; i++) {
            assertEquals(SEND, limiter.judge(ip("192.0.2.7"), 0));
        }
        assertEquals(DROP, limiter.judge(ip("192.0.2.7"), 0));
        // 10 a second: one more after 100 ms, not before.
        assertEquals(DROP, limiter.judge(ip("192.0.2.7"), SECOND / 10 - 1_000));
        assertEquals(SEND, limiter.judge(ip("192.0.2.7"), SECOND / 10 + 1_000));
        assertEquals(DROP, limiter.judge(ip("192.0.2.7"), SECOND / 10 + 2_000));
        // An hour of quiet fills the bucket to 5, not 36,000.
        long later = 3600 * SECOND;
        int sent = 0;
        for (int i = 0; i < 50; i++) {
            sent += limiter.judge(ip("192.0.2.7"), later) == SEND ? 1 : 0;
        }
        assertEquals(5, sent);
    }

    @Test
    void clientsOfOnePrefixShareABucketAndOtherPrefixesHaveTheirOwn() {
        ResponseRateLimiter limiter = new ResponseRateLimiter(TEN_A_SECOND.withSlip(0));
        for (int i = 1; i <= 5; i++) {
            assertEquals(SEND, limiter.judge(ip("198.51.100." + i), 0), "the /24 shares 5");
        }
        assertEquals(DROP, limiter.judge(ip("198.51.100.200"), 0), "same /24");
        assertEquals(SEND, limiter.judge(ip("198.51.101.1"), 0), "the next /24 is another bucket");
        for (int i = 1; i <= 5; i++) {
            assertEquals(SEND, limiter.judge(ip("2001:db8:0:" + Integer.toHexString(i) + "::1"), 0),
                    "one /56 shares 5");
        }
        assertEquals(DROP, limiter.judge(ip("2001:db8:0:ff::9"), 0), "2001:db8:0:ff:: is in the same /56");
        assertEquals(SEND, limiter.judge(ip("2001:db8:0:100::1"), 0), "2001:db8:0:100:: is the next /56");
    }

    @Test
    void prefixLengthsAreSettable() {
        ResponseRateLimiter perAddress = new ResponseRateLimiter(TEN_A_SECOND.withSlip(0).withPrefixLengths(32, 64));
        for (int i = 0; i < 5; i++) {
            assertEquals(SEND, perAddress.judge(ip("203.0.113.1"), 0));
        }
        assertEquals(DROP, perAddress.judge(ip("203.0.113.1"), 0));
        assertEquals(SEND, perAddress.judge(ip("203.0.113.2"), 0), "/32: each address alone");
    }

    @Test
    void exemptNetworksAreNeverLimitedAndLoopbackIsExemptByDefault() {
        ResponseRateLimiter byDefault = new ResponseRateLimiter(RateLimit.DEFAULTS.withBurst(1).withSlip(0));
        ResponseRateLimiter exemptTen = new ResponseRateLimiter(TEN_A_SECOND.withSlip(0)
                .withExemptClients(List.of(ClientNetwork.parse("10.0.0.0/8"))));
        for (int i = 0; i < 100; i++) {
            assertEquals(SEND, byDefault.judge(ip("127.0.0.1"), 0));
            assertEquals(SEND, byDefault.judge(ip("::1"), 0));
            assertEquals(SEND, exemptTen.judge(ip("10.20.30.40"), 0));
        }
        assertEquals(SEND, byDefault.judge(ip("192.0.2.1"), 0));
        assertEquals(DROP, byDefault.judge(ip("192.0.2.1"), 0), "burst 1, then limited");
    }

    @Test
    void offSendsEverything() {
        ResponseRateLimiter off = new ResponseRateLimiter(RateLimit.OFF.withExemptClients(List.of()));
        for (int i = 0; i < 10_000; i++) {
            assertEquals(SEND, off.judge(ip("192.0.2.1"), 0));
        }
    }

    @Test
    void theTableIsBoundedAndAFloodOfOtherPrefixesDoesNotFreeTheOneUnderAttack() {
        RateLimit small = TEN_A_SECOND.withSlip(0).withTableSize(64);
        ResponseRateLimiter limiter = new ResponseRateLimiter(small);
        assertEquals(64, limiter.capacity());
        long now = 0;
        for (int i = 0; i < 5; i++) {
            limiter.judge(ip("192.0.2.1"), now);
        }
        // 100,000 forged sources over 100,000 prefixes, interleaved with the flood at the victim's prefix.
        int victimSent = 0;
        for (int i = 0; i < 100_000; i++) {
            now += 1_000; // 1 µs apart: the victim's bucket earns 1 token per 100 ms, 1 over this whole loop
            limiter.judge(ip(((i >> 16 & 0x3F) + 1) + "." + (i >> 8 & 0xFF) + "." + (i & 0xFF) + ".1"), now);
            victimSent += limiter.judge(ip("192.0.2.1"), now) == SEND ? 1 : 0;
        }
        assertTrue(victimSent <= 1, "the victim's prefix got " + victimSent + " responses, at most 1 was earned");
        assertEquals(64, limiter.capacity(), "no growth");
    }

    @Test
    void badSettingsNameTheirField() {
        assertEquals("dns rate limit responses per second", assertThrows(InvalidFieldException.class,
                () -> RateLimit.DEFAULTS.withResponsesPerSecond(-1)).field());
        assertEquals("dns rate limit burst", assertThrows(InvalidFieldException.class,
                () -> RateLimit.DEFAULTS.withBurst(0)).field());
        assertEquals("dns rate limit slip", assertThrows(InvalidFieldException.class,
                () -> RateLimit.DEFAULTS.withSlip(11)).field());
        assertEquals("dns rate limit ipv4 prefix length", assertThrows(InvalidFieldException.class,
                () -> RateLimit.DEFAULTS.withPrefixLengths(33, 56)).field());
        assertEquals("dns rate limit ipv6 prefix length", assertThrows(InvalidFieldException.class,
                () -> RateLimit.DEFAULTS.withPrefixLengths(24, 65)).field());
        assertEquals("dns rate limit table size", assertThrows(InvalidFieldException.class,
                () -> RateLimit.DEFAULTS.withTableSize(8)).field());
        assertEquals("dns rate limit", assertThrows(InvalidFieldException.class,
                () -> DnsConfig.of(Fixtures.loopbackAnyPort()).withRateLimit(null)).field());
    }

    private static InetAddress ip(String literal) {
        return Fixtures.ip(literal);
    }
}
