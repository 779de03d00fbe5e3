package io.isthmus.gateway.peering;

import io.isthmus.api.grpc.peering.Hello;
import org.junit.jupiter.api.Test;

import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Two ranges agree on the newest version both speak: checked against every pair of ranges up to version 6. */
class ProtocolVersionsTest {
    @Test
    void twoRangesAgreeOnTheNewestVersionInBoth() {
        for (int aMin = 1; aMin <= 6; aMin++) {
            for (int aMax = aMin; aMax <= 6; aMax++) {
                for (int bMin = 1; bMin <= 6; bMin++) {
                    for (int bMax = bMin; bMax <= 6; bMax++) {
                        OptionalInt expected = OptionalInt.empty();
                        for (int v = 6; v >= 1 && expected.isEmpty(); v--) {
                            if (aMin <= v && v <= aMax && bMin <= v && v <= bMax) {
                                expected = OptionalInt.of(v);
                            }
                        }
                        ProtocolVersions a = new ProtocolVersions(aMin, aMax);
                        ProtocolVersions b = new ProtocolVersions(bMin, bMax);
                        assertEquals(expected, a.agree(b), a + " and " + b);
                        assertEquals(expected, b.agree(a), b + " and " + a);
                    }
                }
            }
        }
    }

    @Test
    void aHelloFromBeforeRangesSpeaksItsOneVersion() {
        assertEquals(new ProtocolVersions(1, 1), ProtocolVersions.of(Hello.newBuilder().setProtocolVersion(1).build()));
        assertEquals(new ProtocolVersions(2, 4), ProtocolVersions.of(Hello.newBuilder().setProtocolVersion(4)
                .setMinProtocolVersion(2).build()));
        assertNull(ProtocolVersions.of(Hello.newBuilder().setProtocolVersion(2).setMinProtocolVersion(3).build()));
        assertNull(ProtocolVersions.of(Hello.getDefaultInstance()));
    }

    @Test
    void ourHelloAnnouncesTheRangeWeSpeak() {
        Hello hello = ProtocolVersions.SPOKEN.announce(Hello.newBuilder().setClusterId("east")).build();
        assertEquals(ProtocolVersions.SPOKEN, ProtocolVersions.of(hello));
    }
}
