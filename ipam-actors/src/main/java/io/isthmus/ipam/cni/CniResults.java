package io.isthmus.ipam.cni;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.Cidr;
import io.isthmus.ipam.cni.CniBackend.Addressing;
import io.isthmus.ipam.cni.CniBackend.AssignedIp;
import io.isthmus.ipam.cni.CniBackend.Route;
import io.isthmus.ipam.cni.NetworkConfig.CniVersion;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Optional;

/**
 * CNI result JSON in the format of the requested version. An IPAM plugin returns the abbreviated success result
 * (SPEC.md "Delegated plugins"): {@code ips} without {@code interface}, {@code routes}; {@code interfaces} only when
 * the attachment holds an SR-IOV VF: one entry, the interface the pod gets ({@code CNI_IFNAME}) with the VF's MAC
 * and {@code pciID} (the VF's PCI address, a field of CNI 1.1.0's interface; older parsers ignore it), so that the
 * main plugin knows which VF to move into the pod.
 */
final class CniResults {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private CniResults() {
    }

    static String success(CniVersion version, Addressing addressing) {
        return success(version, addressing, Optional.empty(), "");
    }

    static String success(CniVersion version, Addressing addressing, Optional<CniBackend.Vf> vf, String ifname) {
        ObjectNode result = JSON.createObjectNode();
        result.put("cniVersion", version.text);
        vf.ifPresent(held -> {
            ObjectNode entry = result.putArray("interfaces").addObject();
            entry.put("name", ifname);
            held.mac().ifPresent(mac -> entry.put("mac", mac));
            entry.put("pciID", held.pciAddress());
        });
        ArrayNode ips = result.putArray("ips");
        for (AssignedIp ip : addressing.ips()) {
            ObjectNode entry = ips.addObject();
            if (version.ipsCarryVersion()) {
                entry.put("version", ip.address() instanceof Inet4Address ? "4" : "6");
            }
            entry.put("address", addressText(ip));
            ip.gateway().ifPresent(gateway -> entry.put("gateway", text(gateway)));
        }
        if (!addressing.routes().isEmpty()) {
            ArrayNode routes = result.putArray("routes");
            for (Route route : addressing.routes()) {
                ObjectNode entry = routes.addObject();
                entry.put("dst", route.destination().toString());
                // A route without a next hop goes through the gateway of its family. Plugins install it that way
                // anyway; saying so lets their CHECK find the route they installed (libcni compares gw as given).
                route.gateway().or(() -> gatewayOfFamily(addressing, route))
                        .ifPresent(gateway -> entry.put("gw", text(gateway)));
            }
        }
        return result.toString();
    }

    private static Optional<InetAddress> gatewayOfFamily(Addressing addressing, Route route) {
        return addressing.ips().stream()
                .filter(ip -> (ip.address() instanceof Inet4Address) == route.destination().isIpv4())
                .flatMap(ip -> ip.gateway().stream())
                .findFirst();
    }

    static String error(CniVersion version, CniErrorCode code, String details) {
        return error(version.text, code, details);
    }

    /** {@code version} is the config's when it could be read, else the newest we speak. */
    static String error(String version, CniErrorCode code, String details) {
        ObjectNode error = JSON.createObjectNode();
        error.put("cniVersion", version);
        error.put("code", code.code());
        error.put("msg", code.message());
        error.put("details", details);
        return error.toString();
    }

    /** {@code 10.1.0.5/24}, {@code fd00::5/64}: the form CNI results and {@code prevResult} carry. */
    static String addressText(AssignedIp ip) {
        return text(ip.address()) + "/" + ip.prefixLength();
    }

    /** An address in canonical text: IPv6 compressed (RFC 5952), as {@link Cidr} prints a host network. */
    static String text(InetAddress address) {
        if (address instanceof Inet4Address) {
            return address.getHostAddress();
        }
        String host = Cidr.of(address, 128).toString();
        return host.substring(0, host.length() - "/128".length());
    }
}
