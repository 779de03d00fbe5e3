package io.isthmus.loadtest.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * In-process cost of one export change at N services, step by step along the path a change takes: the export
 * registry's new export set, the peer stream's delta, the receiver's directory, its DNS zone table. Less noisy than
 * the multi-process benchmark, since it times one thread's CPU work and nothing else.
 *
 * <p>It reaches the gateway's and DNS server's internals by reflection (they are package-private), so the same
 * class measures the gateway jar of any commit:
 * <pre>
 *   java -cp gateway/target/isthmus.jar:loadtest/target/classes io.isthmus.loadtest.peering.PerChangeCost [N] [CHANGES]
 * </pre>
 * (the gateway jar first, so that the api classes are that jar's).
 */
public final class PerChangeCost {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final List<ServicePort> PORTS = List.of(ServicePort.parse("http:80/TCP"));
    private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");

    private PerChangeCost() {
    }

    public static void main(String[] args) throws Exception {
        int services = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int changes = args.length > 1 ? Integer.parseInt(args[1]) : 400;
        Class<?> exportSetClass = Class.forName("io.isthmus.gateway.exports.ExportSet");
        Object exportSet = exportSetClass.getField("EMPTY").get(null);
        Method with = exportSetClass.getMethod("with", ServiceExport.class, long.class);
        Method exportsOf = exportSetClass.getMethod("exports");
        long version = 1;
        for (int i = 0; i < services; i++) {
            exportSet = with.invoke(exportSet, export(i, i), version++);
        }

        Class<?> sessionClass = Class.forName("io.isthmus.gateway.peering.PeerSession");
        Method delta = sessionClass.getDeclaredMethod("delta", exportSetClass, exportSetClass, ClusterId.class);
        delta.setAccessible(true);
        Constructor<?> sessionConstructor = sessionClass.getDeclaredConstructors()[0];
        sessionConstructor.setAccessible(true);
        Object[] sessionArgs = new Object[sessionConstructor.getParameterCount()];
        sessionArgs[0] = EAST;
        Object session = sessionConstructor.newInstance(sessionArgs);

        Class<?> settingsClass = Class.forName("io.isthmus.dns.ZoneSettings");
        Class<?> nameClass = Class.forName("org.xbill.DNS.Name"); // dnsjava: in the gateway jar, not a dependency here
        Method settingsOf = settingsClass.getDeclaredMethod("of", nameClass, Duration.class);
        settingsOf.setAccessible(true);
        Object zone = nameClass.getMethod("fromConstantString", String.class).invoke(null, "clusterset.local.");
        Object settings = settingsOf.invoke(null, zone, Duration.ofSeconds(5));
        Class<?> tableClass = Class.forName("io.isthmus.dns.ZoneTable");
        Method build = tableClass.getDeclaredMethod("build", ServiceDirectory.class, settingsClass, tableClass);
        build.setAccessible(true);
        Method incremental = changesMethod();

        @SuppressWarnings("unchecked")
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(EAST, (List<ServiceExport>) exportsOf.invoke(exportSet)));
        Object table = build.invoke(null, directory, settings, null);

        long[] setNanos = new long[changes];
        long[] deltaNanos = new long[changes];
        long[] directoryNanos = new long[changes];
        long[] tableNanos = new long[changes];
        java.util.Random random = new java.util.Random(1);
        for (int round = 0; round < 2; round++) { // the first round warms up
            for (int c = 0; c < changes; c++) {
                ServiceExport changed = export(random.nextInt(services), services + c + round * changes);
                long t0 = System.nanoTime();
                Object next = with.invoke(exportSet, changed, version++);
                long t1 = System.nanoTime();
                Object message = delta.invoke(session, exportSet, next, WEST);
                long t2 = System.nanoTime();
                if (message == null) {
                    throw new IllegalStateException("no delta for one change");
                }
                ServiceDirectory nextDirectory;
                if (incremental != null) {
                    Object pending = incremental.invoke(directory);
                    pending.getClass().getMethod("put", ClusterId.class, ServiceExport.class).invoke(pending, EAST, changed);
                    nextDirectory = (ServiceDirectory) pending.getClass().getMethod("build", long.class)
                            .invoke(pending, directory.version() + 1);
                } else {
                    @SuppressWarnings("unchecked")
                    List<ServiceExport> all = (List<ServiceExport>) exportsOf.invoke(next);
                    nextDirectory = ServiceDirectory.merge(directory.version() + 1, Map.of(EAST, all));
                }
                long t3 = System.nanoTime();
                table = build.invoke(null, nextDirectory, settings, table);
                long t4 = System.nanoTime();
                exportSet = next;
                directory = nextDirectory;
                setNanos[c] = t1 - t0;
                deltaNanos[c] = t2 - t1;
                directoryNanos[c] = t3 - t2;
                tableNanos[c] = t4 - t3;
            }
        }
        System.out.printf("one export change at %,d services (%d changes after %d of warm-up), microseconds:%n",
                services, changes, changes);
        print("ExportSet.with (registry, feed)", setNanos);
        print("PeerSession.delta (each stream)", deltaNanos);
        print(incremental != null ? "ServiceDirectory changes().build" : "ServiceDirectory.merge (full)",
                directoryNanos);
        print("ZoneTable.build from previous", tableNanos);
    }

    private static Method changesMethod() {
        try {
            return ServiceDirectory.class.getMethod("changes");
        } catch (NoSuchMethodException e) {
            return null; // a gateway jar from before incremental directories: full merges
        }
    }

    private static ServiceExport export(int service, int addressIndex) {
        String ip = "10." + (96 + addressIndex / 65_536) + "." + (addressIndex / 256 % 256) + "." + (addressIndex % 256);
        return new ServiceExport(new ServiceKey("bench", "svc-" + service), ServiceType.CLUSTER_SET_IP, PORTS,
                List.of(Endpoint.of(IpLiteral.parse("ip", ip))), AT);
    }

    private static void print(String what, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(nanos).average().orElse(0) / 1_000;
        System.out.printf("  %-36s mean %9.1f  p50 %9.1f  p99 %9.1f%n", what, mean,
                sorted[sorted.length / 2] / 1_000.0, sorted[(int) Math.ceil(sorted.length * 0.99) - 1] / 1_000.0);
    }
}
