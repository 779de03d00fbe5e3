package io.isthmus.ipam.directory;

import io.isthmus.api.Cidr;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ipam.AddressRange;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.Route;
import io.isthmus.testing.SettableClock;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-cluster pool directory; the testkit also checks that its commands, events and state serialize. */
class PoolDirectoryTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final AtomicInteger IDS = new AtomicInteger();
    private static ActorTestKit testKit;
    private EventSourcedBehaviorTestKit<PoolDirectory.Command, PoolDirectory.Event, PoolDirectory.State> directory;

    // Every field of a spec, so that serialization of all of them is checked.
    private final PoolSpec pods = new PoolSpec("pods", List.of(Cidr.parse("c", "10.8.0.0/16"), Cidr.parse("c", "fd00:8::/64")),
            List.of(AddressRange.parse("x", "10.8.0.10-10.8.0.20")), List.of(IpLiteral.parse("r", "10.8.0.50")),
            List.of(IpLiteral.parse("g", "10.8.0.1")), List.of(Route.parse("r", "0.0.0.0/0 via 10.8.0.1")));

    @BeforeAll
    static void startSystem() {
        testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config());
    }

    @AfterAll
    static void stopSystem() {
        testKit.shutdownTestKit();
    }

    @BeforeEach
    void start() {
        directory = EventSourcedBehaviorTestKit.create(testKit.system(),
                PoolDirectory.create("c" + IDS.incrementAndGet(), new SettableClock(T0)));
    }

    private PoolDirectory.Reply register(PoolSpec spec) {
        return directory.<PoolDirectory.Reply>runCommand(r -> new PoolDirectory.Register(spec, r)).reply();
    }

    @Test
    void aRegisteredPoolIsFoundListedAndSurvivesARestart() {
        var result = directory.<PoolDirectory.Reply>runCommand(r -> new PoolDirectory.Register(pods, r));
        assertEquals(List.of(new PoolDirectory.PoolRegistered(pods, T0)), result.events());
        assertEquals(new PoolDirectory.Registered(pods, true), result.reply());
        directory.restart();
        assertEquals(new PoolDirectory.Found(Optional.of(pods), 0),
                directory.<PoolDirectory.Reply>runCommand(r -> new PoolDirectory.Lookup("pods", r)).reply());
        assertEquals(new PoolDirectory.Pools(List.of(pods)),
                directory.<PoolDirectory.Reply>runCommand(PoolDirectory.ListPools::new).reply());
    }

    @Test
    void registeringTheSameSpecAgainStoresNothing() {
        register(pods);
        var again = directory.<PoolDirectory.Reply>runCommand(r -> new PoolDirectory.Register(pods, r));
        assertTrue(again.hasNoEvents());
        assertEquals(new PoolDirectory.Registered(pods, false), again.reply());
    }

    @Test
    void overlapsAndReusedNamesAreRefusedWithoutAnEvent() {
        register(pods);
        var overlap = directory.<PoolDirectory.Reply>runCommand(r -> new PoolDirectory.Register(
                PoolSpec.of("svc", Cidr.parse("c", "fd00:8::/96")), r));
        assertTrue(overlap.hasNoEvents());
        PoolDirectory.Refused refused = assertInstanceOf(PoolDirectory.Refused.class, overlap.reply());
        assertEquals(IpamError.POOL_OVERLAPS, refused.error());
        assertTrue(refused.message().contains("pods"), refused.message());
        assertEquals(IpamError.POOL_EXISTS, assertInstanceOf(PoolDirectory.Refused.class,
                register(PoolSpec.of("pods", Cidr.parse("c", "10.9.0.0/16")))).error());
        assertEquals(List.of(pods), directory.getState().pools());
    }
}
