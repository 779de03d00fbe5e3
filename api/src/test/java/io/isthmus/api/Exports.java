package io.isthmus.api;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/** Small builders for test exports. */
final class Exports {
    static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    private Exports() {
    }

    static ServiceKey key(String namespace, String name) {
        return new ServiceKey(namespace, name);
    }

    static List<ServicePort> ports(String... texts) {
        return Arrays.stream(texts).map(ServicePort::parse).toList();
    }

    static List<InetAddress> ips(String... texts) {
        return Arrays.stream(texts).map(t -> IpLiteral.parse("ip", t)).toList();
    }

    static ServiceExport clusterSetIp(ServiceKey key, String ip, Instant at, String... ports) {
        return ServiceExport.of(key, ServiceType.CLUSTER_SET_IP, ports(ports), ips(ip), at);
    }

    static ServiceExport headless(ServiceKey key, List<String> ips, Instant at, String... ports) {
        return ServiceExport.of(key, ServiceType.HEADLESS, ports(ports), ips(ips.toArray(String[]::new)), at);
    }
}
