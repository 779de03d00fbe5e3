package io.isthmus.dns;

import io.isthmus.api.ClusterId;
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

/** The clusterset the DNS tests answer from. */
final class Fixtures {
    static final String ZONE = "clusterset.local.";
    static final long VERSION = 7;
    static final int BIG_SIZE = 100;    // 100 A records: over 512 and over 1232 bytes, under 4096
    static final int MEDIUM_SIZE = 20;  // 20 A records: under 512 bytes
    static final ClusterId EAST = ClusterId.of("east");
    static final ClusterId WEST = ClusterId.of("west");

    private Fixtures() {
    }

    static InetSocketAddress loopbackAnyPort() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    }

    /**
     * shop/web ClusterSetIP 10.0.0.10; shop/db headless over two clusters, IPv4 and IPv6; shop/v6 ClusterSetIP
     * fd00::10; shop/idle headless without endpoints; shop/medium and shop/big headless with many IPv4
     * endpoints; other/api ClusterSetIP 10.3.0.1.
     */
    static ServiceDirectory directory() {
        return ServiceDirectory.merge(VERSION, Map.of(
                EAST, List.of(
                        export("shop", "web", ServiceType.CLUSTER_SET_IP, "10.0.0.10"),
                        export("shop", "db", ServiceType.HEADLESS, "10.1.0.1", "fd00::1"),
                        export("shop", "v6", ServiceType.CLUSTER_SET_IP, "fd00::10"),
                        export("shop", "idle", ServiceType.HEADLESS),
                        export("shop", "medium", ServiceType.HEADLESS, ipv4Range("10.4.0.", MEDIUM_SIZE)),
                        export("shop", "big", ServiceType.HEADLESS, ipv4Range("10.2.0.", BIG_SIZE))),
                WEST, List.of(
                        export("shop", "db", ServiceType.HEADLESS, "10.1.0.2", "fd00::2"),
                        export("other", "api", ServiceType.CLUSTER_SET_IP, "10.3.0.1"))));
    }

    static ServiceDirectory directoryWith(long version, Collection<ServiceExport> exports) {
        return ServiceDirectory.merge(version, Map.of(EAST, List.copyOf(exports)));
    }

    static ServiceExport export(String namespace, String name, ServiceType type, String... ips) {
        List<InetAddress> addresses = new ArrayList<>();
        for (String ip : ips) {
            addresses.add(IpLiteral.parse("ip", ip));
        }
        return ServiceExport.of(new ServiceKey(namespace, name), type, List.of(ServicePort.parse("80/TCP")),
                addresses, Instant.parse("2025-01-01T00:00:00Z"));
    }

    private static String[] ipv4Range(String prefix, int count) {
        return IntStream.rangeClosed(1, count).mapToObj(i -> prefix + i).toArray(String[]::new);
    }
}
