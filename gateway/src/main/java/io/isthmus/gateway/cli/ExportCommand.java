package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.admin.ExportRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "export", description = "Offer a service to the clusterset (persisted by the gateway).")
final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ServiceOptions service;

    @Option(names = "--port", required = true, paramLabel = "[NAME:]PORT[/PROTO]",
            description = "A service port, e.g. 80/TCP or http:80/TCP; repeat for several.")
    List<String> ports = new ArrayList<>();

    @Option(names = "--ip", paramLabel = "[HOSTNAME=]ADDR",
            description = "The ClusterSetIP, or (headless) each endpoint IP, optionally with its DNS hostname "
                    + "(web-0=10.244.1.5); repeat for several.")
    List<String> ips = new ArrayList<>();

    @Option(names = "--to", paramLabel = "CLUSTER",
            description = "Offer it only to this cluster; repeat for several (default: every cluster).")
    List<String> to = new ArrayList<>();

    @Option(names = "--type", defaultValue = "ClusterSetIP", paramLabel = "TYPE",
            description = "ClusterSetIP (default) or Headless.")
    String type;

    @Mixin
    AdminOption admin;

    @Override
    public Integer call() {
        ObjectNode body = new ObjectMapper().createObjectNode();
        body.put("namespace", service.namespace).put("name", service.name).put("type", type);
        ports.forEach(body.putArray("ports")::add);
        ips.forEach(body.putArray("ips")::add);
        to.forEach(body.putArray("to")::add);
        try {
            ExportRequest.parse(body, Instant.now()); // same checks as the gateway, before anything is sent
        } catch (InvalidFieldException e) {
            throw e.as(flagFor(e.field()));
        }
        AdminClient.Reply reply = admin.client().post("api/v1/exports", body);
        if (!reply.ok()) {
            throw new CliException(reply.error());
        }
        JsonNode stored = reply.json();
        spec.commandLine().getOut().println("exported " + service.namespace + "/" + service.name + " from cluster "
                + stored.path("cluster").asText() + " (version " + stored.path("version").asLong() + ")");
        return 0;
    }

    /** The option that carries a field of the request body: {@code ports[1]} is the second --port. */
    private static String flagFor(String field) {
        String list = field.replaceFirst("\\[\\d+]$", "");
        return switch (list) {
            case "ports" -> "--port";
            case "ips" -> "--ip";
            case "to" -> "--to";
            case "namespace", "name", "type" -> "--" + list;
            default -> field;
        };
    }
}
