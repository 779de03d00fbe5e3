package io.isthmus.gateway.exports;

import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;

final class TestExports {
    static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");

    private TestExports() {
    }

    static ServiceExport clusterSetIp(String namespace, String name, String ip, Instant at, String... ports) {
        return ServiceExport.of(new ServiceKey(namespace, name), ServiceType.CLUSTER_SET_IP,
                Arrays.stream(ports).map(ServicePort::parse).toList(), List.of(IpLiteral.parse("ip", ip)), at);
    }

    static ServiceExport headless(String namespace, String name, List<String> ips, Instant at, String... ports) {
        return ServiceExport.of(new ServiceKey(namespace, name), ServiceType.HEADLESS,
                Arrays.stream(ports).map(ServicePort::parse).toList(),
                ips.stream().map(ip -> IpLiteral.parse("ip", ip)).toList(), at);
    }
}
