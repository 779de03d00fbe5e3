package io.isthmus.loadtest.dns;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The benchmark's services, one definition for every side: service {@code n} (1-based) is
 * {@code svc-n.NAMESPACE.svc.ZONE} with the ClusterSetIP {@code 10.96.0.0 + n}. The addresses are data only;
 * nothing is ever sent to them. The same definition writes the exports sent to Isthmus, the equivalent zone
 * file for NSD and the dnsperf query file, so both servers answer the same names with the same addresses.
 */
public record BenchZone(String zone, String namespace) {
    /** The most services one zone can name: their addresses stay inside 10.96.0.0/12. */
    public static final int MAX_SERVICES = (1 << 20) - 1;

    public BenchZone {
        zone = stripDot(zone);
        if (zone.isEmpty() || namespace.isEmpty()) {
            throw new IllegalArgumentException("zone and namespace must not be empty");
        }
    }

    public static String serviceName(int n) {
        return "svc-" + n;
    }

    /** {@code svc-n.NAMESPACE.svc.ZONE} without the trailing dot. */
    public String fqdn(int n) {
        return serviceName(n) + "." + namespace + ".svc." + zone;
    }

    /** A name inside the zone that no service has: the server must answer NXDOMAIN. */
    public String missingFqdn(int n) {
        return "nx-" + n + "." + namespace + ".svc." + zone;
    }

    /** The ClusterSetIP of service {@code n}: 10.96.0.0 plus n, so svc-1 is 10.96.0.1 and svc-256 is 10.96.1.0. */
    public static String ip(int n) {
        if (n < 1 || n > MAX_SERVICES) {
            throw new IllegalArgumentException("service number out of range: " + n);
        }
        long address = (10L << 24) + (96L << 16) + n;
        return ((address >> 24) & 255) + "." + ((address >> 16) & 255) + "." + ((address >> 8) & 255) + "." + (address & 255);
    }

    /** The body of {@code POST /api/v1/exports} for service {@code n}. */
    public String exportJson(int n) {
        return "{\"namespace\":\"" + namespace + "\",\"name\":\"" + serviceName(n)
                + "\",\"type\":\"ClusterSetIP\",\"ports\":[\"80/TCP\"],\"ips\":[\"" + ip(n) + "\"]}";
    }

    /**
     * The zone as an authoritative server would load it: SOA and NS at the apex (the same names and timers
     * Isthmus puts in its SOA), then one A record per service, every TTL {@code ttlSeconds}.
     */
    public void writeZoneFile(Path file, int count, int ttlSeconds) throws IOException {
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            out.write("$ORIGIN " + zone + ".\n");
            out.write("$TTL " + ttlSeconds + "\n");
            out.write("@ IN SOA ns.dns." + zone + ". hostmaster." + zone + ". 1 7200 1800 86400 " + ttlSeconds + "\n");
            out.write("@ IN NS ns.dns." + zone + ".\n");
            out.write("ns.dns IN A 127.0.0.1\n");
            for (int n = 1; n <= count; n++) {
                out.write(serviceName(n) + "." + namespace + ".svc IN A " + ip(n) + "\n");
            }
        }
    }

    /**
     * The dnsperf input: every service's name once (type A) plus {@code missingPercent}% as many names that do
     * not exist, shuffled with {@code seed} so both servers see exactly the same sequence.
     */
    public List<String> queries(int count, int missingPercent, long seed) {
        List<String> lines = new ArrayList<>();
        for (int n = 1; n <= count; n++) {
            lines.add(fqdn(n) + " A");
        }
        int missing = (int) Math.round(count * missingPercent / 100.0);
        for (int n = 1; n <= missing; n++) {
            lines.add(missingFqdn(n) + " A");
        }
        Collections.shuffle(lines, new Random(seed));
        return lines;
    }

    public void writeQueryFile(Path file, int count, int missingPercent, long seed) throws IOException {
        Files.write(file, queries(count, missingPercent, seed), StandardCharsets.US_ASCII);
    }

    private static String stripDot(String name) {
        String out = name == null ? "" : name.trim();
        return out.endsWith(".") ? out.substring(0, out.length() - 1) : out;
    }
}
