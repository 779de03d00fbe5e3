package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Kubernetes objects as a cluster's users and controllers would write them, for the tests. */
final class McsFixtures {
    private McsFixtures() {
    }

    /** The MCS custom resources as the upstream CRDs declare them: namespaced, with a status subresource. */
    static final List<CustomResourceDefinitionContext> MCS_CRDS = List.of(
            new CustomResourceDefinitionContext.Builder().withGroup(Mcs.GROUP).withVersion(Mcs.VERSION)
                    .withKind("ServiceExport").withPlural("serviceexports").withScope("Namespaced")
                    .withStatusSubresource(true).build(),
            new CustomResourceDefinitionContext.Builder().withGroup(Mcs.GROUP).withVersion(Mcs.VERSION)
                    .withKind("ServiceImport").withPlural("serviceimports").withScope("Namespaced")
                    .withStatusSubresource(true).build());

    static ServiceExportResource serviceExport(String namespace, String name) {
        ServiceExportResource export = new ServiceExportResource();
        export.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
        return export;
    }

    /** A ClusterIP service with one TCP port per {@code name:port} given ("http:80"). */
    static Service service(String namespace, String name, String clusterIp, String... ports) {
        return new ServiceBuilder()
                .withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
                .withNewSpec().withType("ClusterIP").withClusterIP(clusterIp)
                .withPorts(Arrays.stream(ports).map(p -> new io.fabric8.kubernetes.api.model.ServicePortBuilder()
                        .withName(p.substring(0, p.indexOf(':'))).withProtocol("TCP")
                        .withPort(Integer.parseInt(p.substring(p.indexOf(':') + 1))).build()).toList())
                .endSpec().build();
    }

    /** A slice of {@code service} with ready endpoints "ip" or "hostname=ip", and "!ip" for a not-ready one. */
    static EndpointSlice slice(String namespace, String service, String sliceName, String... endpoints) {
        return new EndpointSliceBuilder()
                .withMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(sliceName)
                        .withLabels(Map.of(Mcs.KUBERNETES_SERVICE_NAME_LABEL, service)).build())
                .withAddressType("IPv4")
                .withEndpoints(Arrays.stream(endpoints).map(e -> {
                    boolean ready = !e.startsWith("!");
                    String text = ready ? e : e.substring(1);
                    int eq = text.indexOf('=');
                    return new EndpointBuilder().withAddresses(eq < 0 ? text : text.substring(eq + 1))
                            .withHostname(eq < 0 ? null : text.substring(0, eq))
                            .withNewConditions().withReady(ready).endConditions().build();
                }).toList())
                .build();
    }
}
