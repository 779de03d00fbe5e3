package io.isthmus.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.Endpoint;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The body of {@code POST /api/v1/exports}:
 * {@code {"namespace":"shop","name":"cart","type":"ClusterSetIP","ports":["http:80/TCP"],"ips":["10.96.0.10"]}};
 * a headless endpoint may carry its hostname, {@code "ips":["web-0=10.244.1.5"]}; {@code "to":["west"]} offers it
 * to those clusters only.
 * Errors name the JSON field and, in a list, the index: {@code ports[1]}, {@code ips[0]}, {@code to[2]}.
 */
public final class ExportRequest {
    private ExportRequest() {
    }

    public static ServiceExport parse(JsonNode body, Instant now) {
        if (body == null || !body.isObject()) {
            throw new InvalidFieldException("body", body, "must be a JSON object");
        }
        ServiceKey key = new ServiceKey(text(body, "namespace"), text(body, "name"));
        ServiceType type = body.hasNonNull("type")
                ? ServiceType.parse("type", body.get("type").asText())
                : ServiceType.CLUSTER_SET_IP;
        List<ServicePort> ports = new ArrayList<>();
        List<JsonNode> portNodes = array(body, "ports");
        for (int i = 0; i < portNodes.size(); i++) {
            try {
                ports.add(ServicePort.parse(portNodes.get(i).asText()));
            } catch (InvalidFieldException e) {
                throw e.as("ports[" + i + "]");
            }
        }
        List<Endpoint> endpoints = new ArrayList<>();
        List<JsonNode> ipNodes = array(body, "ips");
        for (int i = 0; i < ipNodes.size(); i++) {
            endpoints.add(Endpoint.parse("ips[" + i + "]", ipNodes.get(i).asText()));
        }
        java.util.SortedSet<io.isthmus.api.ClusterId> offeredTo = new java.util.TreeSet<>();
        List<JsonNode> toNodes = array(body, "to");
        for (int i = 0; i < toNodes.size(); i++) {
            try {
                offeredTo.add(io.isthmus.api.ClusterId.of(toNodes.get(i).asText()));
            } catch (InvalidFieldException e) {
                throw e.as("to[" + i + "]");
            }
        }
        try {
            return new ServiceExport(key, type, ports, endpoints, now, offeredTo);
        } catch (InvalidFieldException e) {
            // The export's own checks speak of one port or ip; in the body they are lists.
            throw e.as(switch (e.field()) {
                case "port" -> "ports";
                case "ip" -> "ips";
                default -> e.field();
            });
        }
    }

    private static String text(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || !node.isTextual()) {
            throw new InvalidFieldException(field, node == null ? "" : node, "is required (a string)");
        }
        return node.asText();
    }

    /** {@code body.field} as a list: absent or null is empty; anything but an array names the field. */
    static List<JsonNode> array(JsonNode body, String field) {
        JsonNode node = body.get(field);
        List<JsonNode> out = new ArrayList<>();
        if (node == null || node.isNull()) {
            return out;
        }
        if (!node.isArray()) {
            throw new InvalidFieldException(field, node, "must be a list");
        }
        node.forEach(out::add);
        return out;
    }
}
