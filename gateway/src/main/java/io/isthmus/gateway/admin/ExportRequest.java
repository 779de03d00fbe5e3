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
 * Field names in errors are the ones the CLI uses for the same values.
 */
public final class ExportRequest {
    private ExportRequest() {
    }

    public static ServiceExport parse(JsonNode body, Instant now) {
        if (body == null || !body.isObject()) {
            throw new InvalidFieldException("body", body, "must be a JSON object");
        }
        String namespace = text(body, "namespace");
        String name = text(body, "name");
        ServiceKey key;
        try {
            key = new ServiceKey(namespace, name);
        } catch (InvalidFieldException e) {
            throw e.as(e.field().equals("namespace") ? "--namespace" : "--name");
        }
        ServiceType type = body.hasNonNull("type")
                ? ServiceType.parse("--type", body.get("type").asText())
                : ServiceType.CLUSTER_SET_IP;
        List<ServicePort> ports = new ArrayList<>();
        for (JsonNode port : array(body, "ports")) {
            try {
                ports.add(ServicePort.parse(port.asText()));
            } catch (InvalidFieldException e) {
                throw e.as("--port");
            }
        }
        List<Endpoint> endpoints = new ArrayList<>();
        for (JsonNode ip : array(body, "ips")) {
            endpoints.add(Endpoint.parse("--ip", ip.asText()));
        }
        java.util.SortedSet<io.isthmus.api.ClusterId> offeredTo = new java.util.TreeSet<>();
        for (JsonNode cluster : array(body, "to")) {
            try {
                offeredTo.add(io.isthmus.api.ClusterId.of(cluster.asText()));
            } catch (InvalidFieldException e) {
                throw e.as("--to");
            }
        }
        try {
            return new ServiceExport(key, type, ports, endpoints, now, offeredTo);
        } catch (InvalidFieldException e) {
            throw e.as("--" + e.field().replace(' ', '-'));
        }
    }

    private static String text(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || !node.isTextual()) {
            throw new InvalidFieldException("--" + field, node == null ? "" : node, "is required (a string)");
        }
        return node.asText();
    }

    private static List<JsonNode> array(JsonNode body, String field) {
        JsonNode node = body.get(field);
        List<JsonNode> out = new ArrayList<>();
        if (node == null || node.isNull()) {
            return out;
        }
        if (!node.isArray()) {
            throw new InvalidFieldException("--" + (field.endsWith("s") ? field.substring(0, field.length() - 1) : field),
                    node, "must be a list");
        }
        node.forEach(out::add);
        return out;
    }
}
