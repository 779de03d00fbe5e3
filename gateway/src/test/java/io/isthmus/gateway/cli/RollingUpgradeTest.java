package io.isthmus.gateway.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rolling upgrade of one cluster's two replicas (separate JVMs, one PostgreSQL journal). Both start as the previous
 * release writes its journal (no schema versions in the manifests: {@code journal.schema-versions = off}); then each
 * is stopped and started again as the current release, one after the other, while clients allocate in every pool and
 * a controller changes exports through whichever replica answers. The journal ends up holding both forms; while the
 * cluster is mixed, the old replica follows the new one's (versioned) export events from the shared journal; the new
 * ones recover pools and exports from unversioned entries; and nothing acknowledged is lost: every allocation is
 * still held as acknowledged, no address twice, every acknowledged export served by both replicas.
 */
class RollingUpgradeTest {
    /**
     * The longest a pool may go without an acknowledged allocation while a replica is replaced: a graceful leave hands
     * the pools over, so it should stay well inside the 10 s a killed replica's pools take (IpamReplicaFailoverTest).
     */
    private static final Duration REPLACEMENT_STALL = Duration.ofSeconds(10);
    private static final String PREVIOUS_RELEASE = "journal.schema-versions = off";

    @Test
    void replacingEachReplicaWithTheCurrentReleaseUnderLoadLosesNoLeaseAndNoExport(@TempDir Path dir) throws Exception {
        IpamFailoverRun.Options options = new IpamFailoverRun.Options(2, 4, Duration.ofMillis(25), Duration.ofSeconds(2),
                Duration.ofSeconds(1), Duration.ofSeconds(90), PREVIOUS_RELEASE,
                List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        try (IpamFailoverRun run = IpamFailoverRun.start(options, dir)) {
            ExportChurn exports = new ExportChurn(run.adminUrls(), "rolling", 97).start();
            run.startClients();
            Thread.sleep(options.before().toMillis());
            Manifests before = manifests(run);
            assertTrue(before.unversioned() > 0 && before.versioned() == 0, () -> "before the upgrade: " + before);

            long upgradeStarted = System.nanoTime();
            List<Double> replacements = new ArrayList<>();
            for (int replica = 0; replica < options.replicas(); replica++) {
                replacements.add(run.replace(replica, ""));
                if (replica == 0) {
                    // Mixed: an export through the new replica reaches the old one, through the journal alone.
                    Cli export = Cli.run("export", "--admin", run.adminUrls().get(0), "--namespace", "probe", "--name",
                            "mixed", "--port", "80/TCP", "--ip", "10.96.5.5");
                    assertEquals(0, export.exitCode(), export::toString);
                    ExportChurn.awaitServed(run.adminUrls().get(1), "east", "probe", Map.of("mixed", "10.96.5.5"),
                            Duration.ofSeconds(30));
                }
                Thread.sleep(options.before().toMillis()); // load on the mixed cluster before the next replacement
            }
            run.stopClients();
            exports.stop();

            Manifests after = manifests(run);
            assertTrue(after.versioned() > 0 && after.unversioned() >= before.unversioned(), () -> "after: " + after);
            assertFalse(exports.gaveUp(), () -> "export changes not acknowledged: " + exports.failures());
            for (String admin : run.adminUrls()) {
                ExportChurn.awaitServed(admin, "east", "rolling", exports.expected(), Duration.ofSeconds(30));
            }
            assertEquals(List.of(), run.verify(0, dir.resolve("client-log.csv")));
            assertEquals(List.of(), run.verify(1, dir.resolve("client-log-1.csv")));
            Map<String, Double> gaps = run.longestGaps(upgradeStarted);
            double longest = gaps.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            assertTrue(longest <= REPLACEMENT_STALL.toSeconds(), () -> "a pool stalled too long: " + gaps);
            System.out.printf("[rolling-upgrade] 2 replicas replaced one by one in %.1f and %.1f s (stop to all Up); longest pool "
                            + "stall %.2f s (%s); %d allocations and %d export changes acknowledged; journal entries "
                            + "%d unversioned, %d versioned%n", replacements.get(0), replacements.get(1), longest, gaps, run.acks().size(),
                    exports.acknowledged(), after.unversioned(), after.versioned());
        }
    }

    /** How many journal entries (events and snapshots) carry a schema version in their manifest, and how many not. */
    private record Manifests(long versioned, long unversioned, List<String> kinds) {
    }

    private static Manifests manifests(IpamFailoverRun run) throws Exception {
        try (Connection db = DriverManager.getConnection(run.postgres().url(), "postgres", "");
             Statement query = db.createStatement();
             ResultSet rows = query.executeQuery("""
                     select m, count(*) from (
                       select event_ser_manifest as m from event_journal where event_ser_manifest like 'io.isthmus.%'
                       union all
                       select snapshot_ser_manifest from snapshot where snapshot_ser_manifest like 'io.isthmus.%') entries
                     group by m order by m
                     """)) {
            long versioned = 0;
            long unversioned = 0;
            List<String> kinds = new ArrayList<>();
            while (rows.next()) {
                String manifest = rows.getString(1);
                long count = rows.getLong(2);
                kinds.add(manifest + " " + count);
                if (manifest.contains("#")) {
                    versioned += count;
                } else {
                    unversioned += count;
                }
            }
            return new Manifests(versioned, unversioned, kinds);
        }
    }
}
