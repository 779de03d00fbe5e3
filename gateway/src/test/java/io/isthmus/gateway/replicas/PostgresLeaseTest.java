package io.isthmus.gateway.replicas;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.isthmus.testing.PostgresServer;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.coordination.lease.scaladsl.Lease;
import org.apache.pekko.coordination.lease.scaladsl.LeaseProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import scala.concurrent.Await;
import scala.concurrent.duration.FiniteDuration;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The split-brain resolver's lease against a real PostgreSQL server. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresLeaseTest {
    private PostgresServer postgres;

    @BeforeAll
    void startPostgres() throws Exception {
        postgres = PostgresServer.start();
    }

    @AfterAll
    void stopPostgres() throws Exception {
        postgres.close();
    }

    private PostgresLeaseStore store() {
        return new PostgresLeaseStore(postgres.url(), "postgres", "", Duration.ofSeconds(2));
    }

    @Test
    void onlyOneOwnerHoldsALeaseAndTheHolderRenewsIt() throws Exception {
        try (PostgresLeaseStore a = store(); PostgresLeaseStore b = store()) {
            assertTrue(a.take("one", "replica-a", Duration.ofSeconds(10)));
            assertFalse(b.take("one", "replica-b", Duration.ofSeconds(10)));
            assertTrue(a.take("one", "replica-a", Duration.ofSeconds(10)), "renewal by the holder");
            assertTrue(b.take("another", "replica-b", Duration.ofSeconds(10)), "leases are by name");
        }
    }

    @Test
    void anExpiredLeaseGoesToTheNextOwnerAndTheOldHolderCannotRenewIt() throws Exception {
        try (PostgresLeaseStore a = store(); PostgresLeaseStore b = store()) {
            assertTrue(a.take("expiring", "replica-a", Duration.ofMillis(300)));
            Thread.sleep(500);
            assertTrue(b.take("expiring", "replica-b", Duration.ofSeconds(10)));
            assertFalse(a.take("expiring", "replica-a", Duration.ofSeconds(10)));
        }
    }

    @Test
    void onlyTheHolderCanGiveALeaseBack() throws Exception {
        try (PostgresLeaseStore a = store(); PostgresLeaseStore b = store()) {
            assertTrue(a.take("given", "replica-a", Duration.ofSeconds(10)));
            assertFalse(b.giveBack("given", "replica-b"));
            assertFalse(b.take("given", "replica-b", Duration.ofSeconds(10)));
            assertTrue(a.giveBack("given", "replica-a"));
            assertTrue(b.take("given", "replica-b", Duration.ofSeconds(10)));
        }
    }

    /** As the split-brain resolver gets it: through Pekko's LeaseProvider, from a config block. */
    @Test
    void pekkoLeaseProviderMakesALeaseThatIsExclusiveRenewedAndReleased() throws Exception {
        Config config = ConfigFactory.parseString("""
                test-lease {
                  lease-class = "io.isthmus.gateway.replicas.PostgresLease"
                  heartbeat-interval = 100ms
                  heartbeat-timeout = 1s
                  lease-operation-timeout = 2s
                  url = "%s"
                  user = postgres
                  password = ""
                }
                """.formatted(postgres.url())).withFallback(ConfigFactory.load());
        ActorSystem system = ActorSystem.create("lease-test", config);
        try {
            LeaseProvider provider = LeaseProvider.get(system);
            Lease first = provider.getLease("sbr", "test-lease", "pekko://isthmus@10.0.0.1:7073");
            Lease second = provider.getLease("sbr", "test-lease", "pekko://isthmus@10.0.0.2:7073");
            assertEquals(Boolean.TRUE, await(first.acquire()));
            assertTrue(first.checkLease());
            assertEquals(Boolean.FALSE, await(second.acquire()));
            assertFalse(second.checkLease());
            Thread.sleep(1_500); // longer than the timeout: only renewals keep it
            assertTrue(first.checkLease());
            assertEquals(Boolean.FALSE, await(second.acquire()));
            assertEquals(Boolean.TRUE, await(first.release()));
            assertFalse(first.checkLease());
            assertEquals(Boolean.TRUE, await(second.acquire()));
        } finally {
            system.terminate();
            Await.result(system.whenTerminated(), FiniteDuration.apply(20, TimeUnit.SECONDS));
        }
    }

    private static Object await(scala.concurrent.Future<Object> future) throws Exception {
        return Await.result(future, FiniteDuration.apply(10, TimeUnit.SECONDS));
    }
}
