package io.isthmus.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.exports.ExportSet;
import io.isthmus.gateway.peering.MeshView;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The policy's identities are built again only when what they are built from changed: the same export sets (by
 * identity), workloads and plan give the same view, and anything new (a snapshot, a withdrawal, a pod) asks for a build.
 */
class IdentityInputsTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final Instant AT = Instant.parse("2026-12-08T00:00:00Z");

    private static ServiceExport export(String name, String ip) {
        return new ServiceExport(new ServiceKey("shop", name), ServiceType.CLUSTER_SET_IP,
                List.of(new ServicePort("http", 80, Protocol.TCP)), List.of(Endpoint.of(InetAddress.ofLiteral(ip))), AT);
    }

    private static MeshView.Snapshot mesh(ExportSet own, Map<ClusterId, MeshView.RemoteExports> imports) {
        return new MeshView.Snapshot(EAST, own, imports, Map.of(), ServiceDirectory.EMPTY, Map.of());
    }

    private static MeshView.RemoteExports remote(List<ServiceExport> exports, boolean withdrawn) {
        return new MeshView.RemoteExports(7, exports, AT, "link", withdrawn ? AT : null, withdrawn);
    }

    @Test
    void theSameExportSetsAndWorkloadsNeedNoBuildAndAnyChangeDoes() {
        ExportSet own = new ExportSet(1, List.of(export("web", "10.1.0.5")));
        MeshView.RemoteExports fromWest = remote(List.of(export("db", "10.2.0.5")), false);
        Workloads pods = new Workloads(Map.of(InetAddress.ofLiteral("10.1.0.9"),
                new Workloads.Pod(InetAddress.ofLiteral("10.1.0.9"), "shop", "web-1", Map.of())), Map.of());
        IdentitySource.Inputs first = IdentitySource.Inputs.of(Optional.empty(), mesh(own, Map.of(WEST, fromWest)),
                pods, Map.of());

        assertFalse(first.sameAs(null), "the first build");
        // Another mesh snapshot (a heartbeat, a link change) over the same export sets: nothing to build.
        assertTrue(IdentitySource.Inputs.of(Optional.empty(), mesh(own, Map.of(WEST, fromWest)), pods, Map.of())
                .sameAs(first));
        // West's snapshot again with equal content is another set: built again (cheap to decide, rare to happen).
        assertFalse(IdentitySource.Inputs.of(Optional.empty(),
                mesh(own, Map.of(WEST, remote(List.of(export("db", "10.2.0.6")), false))), pods, Map.of()).sameAs(first));
        assertFalse(IdentitySource.Inputs.of(Optional.empty(),
                mesh(own, Map.of(WEST, remote(fromWest.exports(), true))), pods, Map.of()).sameAs(first), "withdrawn");
        assertFalse(IdentitySource.Inputs.of(Optional.empty(), mesh(own.with(export("api", "10.1.0.6"), 2),
                Map.of(WEST, fromWest)), pods, Map.of()).sameAs(first), "own exports changed");
        assertFalse(IdentitySource.Inputs.of(Optional.empty(), mesh(own, Map.of(WEST, fromWest)), Workloads.NONE,
                Map.of()).sameAs(first), "local pods changed");
        assertFalse(IdentitySource.Inputs.of(Optional.empty(), mesh(own, Map.of(WEST, fromWest)), pods,
                Map.of(WEST, pods)).sameAs(first), "a peer's workloads changed");
    }
}
