package io.isthmus.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Seeded random exports that run into every merge rule: both types, named and unnamed ports, conflicts. */
final class RandomExports {
    private static final String[] PORTS = {"80", "http:80/TCP", "http:8080/TCP", "dns:53/UDP", "grpc:9090/TCP",
            "dns:53/TCP", "metrics:9100/TCP"};

    private RandomExports() {
    }

    static ServiceExport export(Random random, ServiceKey key) {
        List<ServicePort> ports = new ArrayList<>();
        if (random.nextInt(4) == 0) {
            ports.add(ServicePort.parse("80"));
        } else {
            for (String text : PORTS) {
                ServicePort port = ServicePort.parse(text);
                boolean clash = ports.stream().anyMatch(p -> p.name().equals(port.name())
                        || p.port() == port.port() && p.protocol() == port.protocol());
                if (!port.name().isEmpty() && !clash && random.nextInt(3) == 0) {
                    ports.add(port);
                }
            }
            if (ports.isEmpty()) {
                ports.add(ServicePort.parse("http:80/TCP"));
            }
        }
        java.time.Instant at = Exports.T0.plusSeconds(random.nextInt(5));
        if (random.nextBoolean()) {
            return ServiceExport.of(key, ServiceType.CLUSTER_SET_IP, ports,
                    List.of(IpLiteral.parse("ip", "10.0." + random.nextInt(4) + "." + random.nextInt(4))), at);
        }
        List<Endpoint> endpoints = new ArrayList<>();
        int count = random.nextInt(4);
        for (int i = 0; i < count; i++) {
            Endpoint endpoint = new Endpoint(IpLiteral.parse("ip", "10.1." + i + "." + random.nextInt(3)),
                    random.nextBoolean() ? "pod-" + i : "");
            if (endpoints.stream().noneMatch(e -> e.ip().equals(endpoint.ip()))) {
                endpoints.add(endpoint);
            }
        }
        return new ServiceExport(key, ServiceType.HEADLESS, ports, endpoints, at);
    }
}
