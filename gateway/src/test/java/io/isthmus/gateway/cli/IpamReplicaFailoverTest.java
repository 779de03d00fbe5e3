package io.isthmus.gateway.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two gateway replicas of one cluster (separate JVMs, PostgreSQL journal and split-brain lease), six pools spread
 * over both by sharding, a client per pool allocating continuously. SIGKILL of the oldest replica (it also hosts
 * the shard coordinator): the pools it ran are served again by the survivor, and the client log and the leases the
 * survivor recovered from the journal agree: no acknowledged allocation lost, no address held by two owners.
 */
class IpamReplicaFailoverTest {
    @Test
    void afterAReplicaIsKilledTheSurvivorServesItsPoolsAndNoAddressIsHeldTwice(@TempDir Path dir) throws Exception {
        IpamFailoverRun.Options options = new IpamFailoverRun.Options(2, 6, Duration.ofMillis(25), Duration.ofSeconds(2),
                Duration.ofSeconds(1), Duration.ofSeconds(90), "",
                List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        try (IpamFailoverRun run = IpamFailoverRun.start(options, dir)) {
            IpamFailoverRun.Result result = run.killDuringAllocations(IpamFailoverRun.Victim.OLDEST);
            int survivor = run.survivorOf(IpamFailoverRun.Victim.OLDEST);
            List<IpamFailoverRun.PoolStall> moved = result.pools().stream().filter(IpamFailoverRun.PoolStall::moved).toList();
            assertTrue(!moved.isEmpty(), () -> "no pool ran on the killed replica: " + result.pools());
            for (IpamFailoverRun.PoolStall pool : result.pools()) {
                assertTrue(pool.firstAfter() != 0, () -> IpamFailoverRun.pool(pool.pool())
                        + " was not served again after the kill; survivor log:\n" + run.tail(survivor, 40));
            }
            // Everything acknowledged after the kill came from the survivor.
            long killedAt = result.pools().stream().mapToLong(IpamFailoverRun.PoolStall::lastBefore).max().orElseThrow();
            assertTrue(run.acks().stream().filter(a -> a.atNanos() > killedAt).allMatch(a -> a.replica() == survivor));
            assertEquals(List.of(), run.verify(survivor, dir.resolve("client-log.csv")));
            System.out.printf("[ipam-replica-failover] %d pools moved to the survivor, stall %s; %d acknowledged allocations%n",
                    moved.size(), IpamFailoverRun.summary(moved), result.acknowledged());
        }
    }
}
