package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ServiceDirectory;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * How much memory the precomputed zone takes: it must grow linearly and modestly with the number of services.
 * Prints the figures (bytes per 10,000 services of {@link Fixtures#mixOf}); asserts only generous bounds.
 * {@code main} measures larger directories: {@code java -cp ... io.isthmus.dns.ZoneTableFootprintTest 100000}.
 */
class ZoneTableFootprintTest {
    private static final ZoneSettings SETTINGS = ZoneSettings.of(DnsConfig.DEFAULT_ZONE, Duration.ofSeconds(5));

    @Test
    void memoryGrowsLinearlyAndModestlyWithServices() {
        long quarter = ZoneTable.build(Fixtures.manyServices(2_500), SETTINGS).footprintBytes();
        long tenThousand = ZoneTable.build(Fixtures.manyServices(10_000), SETTINGS).footprintBytes();
        System.out.printf("zone table: %,d bytes per 10,000 services (%,d for 2,500)%n", tenThousand, quarter);

        assertTrue(tenThousand < 10_000L * 1_500, "under 1,500 bytes a service: " + tenThousand);
        double ratio = (double) tenThousand / quarter;
        assertTrue(ratio > 3.6 && ratio < 4.4, "four times the services, about four times the bytes: " + ratio);
    }

    @Test
    void everyNameOfTheMixIsThere() {
        ZoneTable table = ZoneTable.build(Fixtures.manyServices(10), SETTINGS);
        // Apex, ns.dns, dns, dns-version, svc; per ClusterSetIP service: its name, 2 SRV names, _tcp, 2 PTR names;
        // per headless: its name, 1 SRV name, _tcp, 2 cluster labels, 6 endpoints, their 6 PTR names; 10 namespaces.
        assertEquals(5 + 8 * 6 + 2 * 17 + 10, table.names());
    }

    public static void main(String[] args) {
        int services = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        ServiceDirectory directory = Fixtures.manyServices(services);
        System.gc();
        long before = memory.getHeapMemoryUsage().getUsed();
        long started = System.nanoTime();
        ZoneTable table = ZoneTable.build(directory, SETTINGS);
        long builtMillis = (System.nanoTime() - started) / 1_000_000;
        System.gc();
        long after = memory.getHeapMemoryUsage().getUsed();
        System.out.printf("%,d services, %,d names: table %,d bytes by count, %,d by heap use; built in %d ms%n",
                services, table.names(), table.footprintBytes(), after - before, builtMillis);
        java.lang.management.ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        for (int round = 1; round <= 5; round++) {
            started = System.nanoTime();
            long cpuStarted = cpu.getCurrentThreadCpuTime();
            ZoneTable.build(directory, SETTINGS);
            System.out.printf("built again in %d ms (%d ms of CPU)%n", (System.nanoTime() - started) / 1_000_000,
                    (cpu.getCurrentThreadCpuTime() - cpuStarted) / 1_000_000);
        }
        ServiceDirectory next = new ServiceDirectory(directory.version() + 1, directory.services());
        for (int round = 1; round <= 5; round++) {
            started = System.nanoTime();
            long cpuStarted = cpu.getCurrentThreadCpuTime();
            table = ZoneTable.build(next, SETTINGS, table);
            System.out.printf("rebuilt from the previous table in %d ms (%d ms of CPU)%n",
                    (System.nanoTime() - started) / 1_000_000, (cpu.getCurrentThreadCpuTime() - cpuStarted) / 1_000_000);
        }
    }
}
