package io.isthmus.loadtest.dns;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DnsperfRunTest {
    private static String output(int answered, boolean withTimeout) {
        StringBuilder text = new StringBuilder("""
                DNS Performance Testing Tool
                Version 2.10.0

                [Status] Command line: dnsperf -s 127.0.0.1 -p 5353 -d q.txt -l 2 -v
                [Status] Sending queries (to 127.0.0.1:5353)
                """);
        for (int i = 1; i <= answered; i++) {
            String rcode = i % 10 == 0 ? "NXDOMAIN" : "NOERROR";
            text.append(String.format("> %s svc-%d.bench.svc.clusterset.local A 0.%06d%n", rcode, i, i));
        }
        if (withTimeout) {
            text.append("> T svc-9.bench.svc.clusterset.local A\n");
        }
        text.append("> I svc-8.bench.svc.clusterset.local A\n");
        text.append(String.format("""
                [Status] Testing complete (time limit)

                Statistics:

                  Queries sent:         %d
                  Queries completed:    %d (99.00%%)
                  Queries lost:         %d (1.00%%)

                  Response codes:       NOERROR 90 (90.00%%), NXDOMAIN 10 (10.00%%)
                  Average packet size:  request 51, response 67
                  Run time (s):         2.000000
                  Queries per second:   50.000000

                  Average Latency (s):  0.000050 (min 0.000001, max 0.000100)
                  Latency StdDev (s):   0.000029
                """, answered + 1, answered, withTimeout ? 1 : 0));
        return text.toString();
    }

    @Test
    void readsLatenciesRcodesAndStatistics(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("run.out");
        Files.writeString(file, output(100, false));
        DnsperfRun run = DnsperfRun.read(file);
        assertEquals(100, run.completed());
        assertEquals(100, run.latencyMicros().length);
        assertEquals(50.0, run.qps(), 1e-9);
        assertEquals(90L, run.rcodes().get("NOERROR"));
        assertEquals(10L, run.rcodes().get("NXDOMAIN"));

        DnsperfRun.Merged merged = DnsperfRun.Merged.of("x", List.of(run));
        assertEquals(0.099, merged.percentileMillis(0.99), 1e-9);
        assertEquals(0.050, merged.percentileMillis(0.50), 1e-9);
        assertEquals(0.0505, merged.averageMillis(), 1e-9);
    }

    @Test
    void aLostQueryCountsAsSlowerThanEveryAnswer(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("run.out");
        Files.writeString(file, output(99, true));
        DnsperfRun.Merged merged = DnsperfRun.Merged.of("x", List.of(DnsperfRun.read(file)));
        assertEquals(1, merged.timeouts());
        assertEquals(0.099, merged.percentileMillis(0.99), 1e-9);
        assertEquals(Double.POSITIVE_INFINITY, merged.percentileMillis(0.999));
        assertEquals("lost", DnsBench.ms(merged.percentileMillis(0.999)));
    }

    @Test
    void mergesRunsOfOneServer(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.out");
        Path b = dir.resolve("b.out");
        Files.writeString(a, output(100, false));
        Files.writeString(b, output(50, false));
        DnsperfRun.Merged merged = DnsperfRun.Merged.of("x", List.of(DnsperfRun.read(a), DnsperfRun.read(b)));
        assertEquals(150, merged.completed());
        assertEquals(37.5, merged.qps(), 1e-9);
        assertEquals(2, merged.runQps().length);
    }
}
