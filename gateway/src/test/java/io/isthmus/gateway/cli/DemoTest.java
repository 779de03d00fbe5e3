package io.isthmus.gateway.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The newcomer's first command: three clusters, peered, answering for each other's exports. */
class DemoTest {
    @TempDir
    Path dir;

    @Test
    void demoReachesReadyWithEveryClusterAnsweringAndLeavesNoProcessBehind() throws Exception {
        int base = FreePorts.block(30);
        boolean runDirBefore = Files.exists(Path.of("/run/isthmus"));
        Cli demo = Cli.run("demo", "--data", dir.toString(), "--base-port", Integer.toString(base), "--exit-when-ready");
        assertEquals(0, demo.exitCode(), demo::toString);
        assertTrue(demo.out().lines().anyMatch("ready"::equals), demo::toString);
        assertTrue(demo.out().lines().anyMatch(l -> l.contains("open the dashboard http://127.0.0.1:" + base + "/dashboard")),
                "the demo says where its dashboard is:\n" + demo);
        assertTrue(demo.out().lines().anyMatch(line -> line.startsWith("catalog.shop.svc.clusterset.local")
                && line.split("10\\.96\\.10\\.11 10\\.97\\.20\\.11", -1).length == 4), demo::toString);
        assertTrue(Files.exists(dir.resolve("east/journal.mv.db")), "each cluster keeps its journal in --data");
        assertEquals(0, ProcessHandle.current().children().filter(ProcessHandle::isAlive).count(),
                "the demo must stop every gateway it started");
        if (io.isthmus.testing.Netns.isRoot()) { // east's pod reached from west's pod through the tunnel
            assertEquals(2, demo.out().lines().filter(l -> l.contains("over the encrypted tunnel: sent")
                    && l.contains("got back \"hello from west's pod")).count(), demo::toString);
            assertTrue(!io.isthmus.testing.Netns.ip("netns", "list").contains("isd" + base + "-"),
                    "the demo deletes its network namespaces");
            // what uninstall would still find of it: nothing (the CNI plugin dir is a scratch one: no plugin there)
            Cli leftovers = Cli.run("uninstall", "--dry-run", "--force", "--cni-bin-dir", dir.toString(),
                    "--bpf-pin-dir", dir.resolve("no-pins").toString(), "--cni-conf-dir", dir.toString());
            assertEquals(0, leftovers.exitCode(), leftovers::toString);
            assertTrue(leftovers.out().lines().noneMatch(l -> l.contains("isd" + base + "-")
                    || l.contains("TUN device") || (!runDirBefore && l.contains("/run/isthmus"))), leftovers::toString);
        } else {
            assertTrue(demo.out().contains("Tunnel: skipped, it needs root"), demo::toString);
        }

        // A second run resumes from the same data directory.
        Cli again = Cli.run("demo", "--data", dir.toString(), "--base-port", Integer.toString(base), "--exit-when-ready");
        assertEquals(0, again.exitCode(), again::toString);
        assertTrue(again.out().lines().anyMatch("ready"::equals), again::toString);
    }
}
