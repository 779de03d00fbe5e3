package io.isthmus.dns;

import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/** The clusterset the DNS tests answer from. */
final class Fixtures {
    static final String ZONE = "clusterset.local.";
    static final long VERSION = 7;
    static final int BIG_SIZE = 100;    // 100 A records: over 512 and over 1232 bytes, under 4096
    static final int MEDIUM_SIZE = 20;  // 20 A records: under 512 bytes
    static final ClusterId EAST = ClusterId.of("east");
    static final ClusterId WEST = ClusterId.of("west");
    static final List<ServicePort> HTTP = List.of(ServicePort.parse("http:80/TCP"));
    static final List<ServicePort> PG = List.of(ServicePort.parse("pg:5432/TCP"));
    private static final Instant EXPORTED_AT = Instant.parse("2025-01-01T00:00:00Z");
    private static final ServiceDirectory DIRECTORY = build();

    private Fixtures() {
    }

    static InetSocketAddress loopbackAnyPort() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    }

    /**
     * <ul>
     *   <li>shop/web ClusterSetIP 10.0.0.10 from east, ports http:80/TCP and dns:53/UDP;</li>
     *   <li>shop/db headless over two clusters, IPv4 and IPv6, port pg:5432/TCP: east db-0=10.1.0.1 and fd00::1,
     *       west 10.1.0.2 and db-1=fd00::2;</li>
     *   <li>shop/cart ClusterSetIP from both: east 10.5.0.1, west 10.5.0.2, port http:80/TCP;</li>
     *   <li>shop/cache headless from both: east cache-0=10.6.0.1, west cache-0=10.6.0.2, port redis:6379/TCP;</li>
     *   <li>shop/v6 ClusterSetIP fd00::10; shop/idle headless without endpoints; shop/medium and shop/big
     *       headless with many IPv4 endpoints (unnamed port); other/api ClusterSetIP 10.3.0.1 from west.</li>
     * </ul>
     */
    static ServiceDirectory directory() {
        return DIRECTORY; // one object, as the gateway hands out: a new one would rebuild the zone table
    }

    private static ServiceDirectory build() {
        List<ServicePort> webPorts = List.of(ServicePort.parse("http:80/TCP"), ServicePort.parse("dns:53/UDP"));
        List<ServicePort> pg = PG;
        List<ServicePort> http = HTTP;
        List<ServicePort> redis = List.of(ServicePort.parse("redis:6379/TCP"));
        return ServiceDirectory.merge(VERSION, Map.of(
                EAST, List.of(
                        export("shop", "web", ServiceType.CLUSTER_SET_IP, webPorts, "10.0.0.10"),
                        export("shop", "db", ServiceType.HEADLESS, pg, "db-0=10.1.0.1", "fd00::1"),
                        export("shop", "cart", ServiceType.CLUSTER_SET_IP, http, "10.5.0.1"),
                        export("shop", "cache", ServiceType.HEADLESS, redis, "cache-0=10.6.0.1"),
                        export("shop", "v6", ServiceType.CLUSTER_SET_IP, "fd00::10"),
                        export("shop", "idle", ServiceType.HEADLESS),
                        export("shop", "medium", ServiceType.HEADLESS, ipv4Range("10.4.0.", MEDIUM_SIZE)),
                        export("shop", "big", ServiceType.HEADLESS, ipv4Range("10.2.0.", BIG_SIZE))),
                WEST, List.of(
                        export("shop", "db", ServiceType.HEADLESS, pg, "10.1.0.2", "db-1=fd00::2"),
                        export("shop", "cart", ServiceType.CLUSTER_SET_IP, http, "10.5.0.2"),
                        export("shop", "cache", ServiceType.HEADLESS, redis, "cache-0=10.6.0.2"),
                        export("other", "api", ServiceType.CLUSTER_SET_IP, "10.3.0.1"))));
    }

    static ServiceDirectory directoryWith(long version, Collection<ServiceExport> exports) {
        return ServiceDirectory.merge(version, Map.of(EAST, List.copyOf(exports)));
    }

    /** An export with one unnamed port, 80/TCP. */
    static ServiceExport export(String namespace, String name, ServiceType type, String... endpoints) {
        return export(namespace, name, type, List.of(ServicePort.parse("80/TCP")), endpoints);
    }

    /** Endpoints as {@code ADDRESS} or {@code HOSTNAME=ADDRESS}. */
    static ServiceExport export(String namespace, String name, ServiceType type, List<ServicePort> ports,
                                String... endpoints) {
        List<Endpoint> parsed = new ArrayList<>();
        for (String endpoint : endpoints) {
            parsed.add(Endpoint.parse("ip", endpoint));
        }
        return new ServiceExport(new ServiceKey(namespace, name), type, ports, parsed, EXPORTED_AT);
    }

    static InetAddress ip(String literal) {
        return IpLiteral.parse("ip", literal);
    }

    private static String[] ipv4Range(String prefix, int count) {
        return IntStream.rangeClosed(1, count).mapToObj(i -> prefix + i).toArray(String[]::new);
    }

    /** {@code count} services, a realistic mix, for size and speed measurements; see {@link #mixOf}. */
    static ServiceDirectory manyServices(int count) {
        return ServiceDirectory.merge(1, mixOf(count));
    }

    /**
     * Per 10 services: 8 ClusterSetIP services exported by 2 clusters (so 2 IPs), with 2 named ports; 2 headless
     * services with 3 endpoints in each of 2 clusters (hostnames on half), with 1 named port.
     */
    static Map<ClusterId, List<ServiceExport>> mixOf(int count) {
        List<ServiceExport> east = new ArrayList<>();
        List<ServiceExport> west = new ArrayList<>();
        List<ServicePort> twoPorts = List.of(ServicePort.parse("http:80/TCP"), ServicePort.parse("grpc:9090/TCP"));
        List<ServicePort> onePort = List.of(ServicePort.parse("peer:7000/TCP"));
        for (int i = 0; i < count; i++) {
            String namespace = "ns" + (i % 50);
            String name = "svc-" + i;
            int a = i / 250;
            int b = i % 250;
            if (i % 10 < 8) {
                east.add(export(namespace, name, ServiceType.CLUSTER_SET_IP, twoPorts, "10.100." + a + "." + b));
                west.add(export(namespace, name, ServiceType.CLUSTER_SET_IP, twoPorts, "10.200." + a + "." + b));
            } else {
                east.add(export(namespace, name, ServiceType.HEADLESS, onePort, endpoints("10.101.", i, "e")));
                west.add(export(namespace, name, ServiceType.HEADLESS, onePort, endpoints("10.201.", i, "w")));
            }
        }
        return Map.of(EAST, east, WEST, west);
    }

    private static String[] endpoints(String prefix, int service, String side) {
        return Stream.of(0, 1, 2).map(k -> {
            String ip = prefix + (service / 80) + "." + (service % 80 * 3 + k);
            return k == 0 ? "pod-" + side + k + "=" + ip : ip;
        }).toArray(String[]::new);
    }
}
