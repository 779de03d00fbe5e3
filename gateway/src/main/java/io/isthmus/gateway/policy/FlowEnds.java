package io.isthmus.gateway.policy;

import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.peering.MeshView;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The ends of a flow to explain, as a user names them: an IP address; a pod as {@code CLUSTER/NAMESPACE/POD} (this
 * cluster's from its leases and Kubernetes, another's as that cluster described its workloads over peering); or, as
 * the destination, an exported service as {@code NAMESPACE/SERVICE}: every address that serves it, in every cluster
 * that exports it (a ClusterSetIP export's IP, a headless export's endpoints), each its own flow.
 */
public final class FlowEnds {
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern POD_NAME = Pattern.compile("[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?");

    /** One resolved end: what it was called, and its address. */
    public record End(String name, InetAddress address) {
    }

    private final Supplier<Map<ClusterId, Workloads>> workloads;
    private final Supplier<MeshView.Snapshot> mesh;

    public FlowEnds(Supplier<Map<ClusterId, Workloads>> workloads, Supplier<MeshView.Snapshot> mesh) {
        this.workloads = workloads;
        this.mesh = mesh;
    }

    /** The one address {@code text} names as a source; refused naming {@code field} when none, or not a pod or IP. */
    public End source(String field, String text) {
        List<End> ends = resolve(field, text, false);
        return ends.getFirst();
    }

    /** The addresses {@code text} names as a destination: at least one, or refused naming {@code field}. */
    public List<End> destinations(String field, String text) {
        return resolve(field, text, true);
    }

    private List<End> resolve(String field, String text, boolean services) {
        String name = text.trim();
        if (!name.contains("/")) {
            return List.of(new End(name, IpLiteral.parse(field, name)));
        }
        String[] parts = name.split("/", -1);
        checkShape(field, text, parts, services);
        if (parts.length == 3) {
            ClusterId cluster = ClusterId.of(parts[0]);
            Workloads known = workloads.get().getOrDefault(cluster, Workloads.NONE);
            Workloads.Pod pod = known.named(parts[1], parts[2]).orElseThrow(() -> new InvalidFieldException(field,
                    text, "no pod " + parts[2] + " in namespace " + parts[1] + " of cluster " + cluster
                    + " is known here (" + known.pods().size() + " pods of " + cluster + " known)"));
            return List.of(new End(name, pod.address()));
        }
        ServiceKey key = new ServiceKey(parts[0], parts[1]);
        List<End> ends = new ArrayList<>();
        MeshView.Snapshot now = mesh.get();
        if (now != null) {
            now.own().exports().stream().filter(e -> e.key().equals(key))
                    .forEach(export -> serving(ends, now.self(), export));
            now.imports().forEach((cluster, remote) -> {
                if (!remote.withdrawn()) {
                    remote.exports().stream().filter(e -> e.key().equals(key)).forEach(export -> serving(ends, cluster, export));
                }
            });
        }
        if (ends.isEmpty()) {
            throw new InvalidFieldException(field, text, "no cluster exports service " + key + " (or it has no endpoints)");
        }
        return ends;
    }

    private static void serving(List<End> ends, ClusterId cluster, ServiceExport export) {
        for (Endpoint endpoint : export.endpoints()) {
            ends.add(new End(cluster + " " + export.key() + " (" + export.type().label() + " "
                    + IpLiteral.format(endpoint.ip()) + ")", endpoint.ip()));
        }
    }

    private static void checkShape(String field, String text, String[] parts, boolean services) {
        boolean pod = parts.length == 3 && LABEL.matcher(parts[0]).matches() && LABEL.matcher(parts[1]).matches()
                && POD_NAME.matcher(parts[2]).matches();
        boolean service = services && parts.length == 2 && LABEL.matcher(parts[0]).matches()
                && LABEL.matcher(parts[1]).matches();
        if (!pod && !service) {
            throw new InvalidFieldException(field, text, services
                    ? "must be an IP address, a pod as CLUSTER/NAMESPACE/POD or a service as NAMESPACE/SERVICE"
                    : "must be an IP address or a pod as CLUSTER/NAMESPACE/POD");
        }
    }

    /** Whether {@code text} is a name this class resolves (rather than an IP literal). */
    public static boolean isName(String text) {
        return text.contains("/");
    }
}
