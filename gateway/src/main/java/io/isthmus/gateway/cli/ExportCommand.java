package io.isthmus.gateway.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.admin.ExportBatchRequest;
import io.isthmus.gateway.admin.ExportRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code isthmus export --namespace NS --name SVC --port ...}: one service; {@code isthmus export -f FILE}: many
 * exports and withdrawals from a file, as one change (all or none; {@code POST /api/v1/exports/batch}).
 */
@Command(name = "export", description = "Offer a service to the clusterset (persisted by the gateway), or, with "
        + "--file, offer and withdraw many in one change (all or none).")
final class ExportCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--namespace", paramLabel = "NS", description = "The service's namespace (required without --file).")
    String namespace;

    @Option(names = "--name", paramLabel = "SVC", description = "The service's name (required without --file).")
    String name;

    @Option(names = "--port", paramLabel = "[NAME:]PORT[/PROTO]",
            description = "A service port, e.g. 80/TCP or http:80/TCP; repeat for several (one at least, without --file).")
    List<String> ports = new ArrayList<>();

    @Option(names = "--ip", paramLabel = "[HOSTNAME=]ADDR",
            description = "The ClusterSetIP, or (headless) each endpoint IP, optionally with its DNS hostname "
                    + "(web-0=10.244.1.5); repeat for several.")
    List<String> ips = new ArrayList<>();

    @Option(names = "--to", paramLabel = "CLUSTER",
            description = "Offer it only to this cluster; repeat for several (default: every cluster).")
    List<String> to = new ArrayList<>();

    @Option(names = "--type", paramLabel = "TYPE", description = "ClusterSetIP (default) or Headless.")
    String type;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE",
            description = "JSON {\"exports\":[{\"namespace\":..,\"name\":..,\"type\":..,\"ports\":[..],\"ips\":[..],"
                    + "\"to\":[..]}, ...], \"unexports\":[\"ns/name\", ...]}, stored as one change; - for stdin.")
    Path file;

    @Mixin
    AdminOption admin;

    @Override
    public Integer call() {
        return file != null ? applyFile() : exportOne();
    }

    private Integer exportOne() {
        requireGiven("--namespace", namespace);
        requireGiven("--name", name);
        if (ports.isEmpty()) {
            throw new InvalidFieldException("--port", "", "is required (at least one), unless --file gives the exports");
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("namespace", namespace).put("name", name).put("type", type == null ? "ClusterSetIP" : type);
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
        spec.commandLine().getOut().println("exported " + namespace + "/" + name + " from cluster "
                + stored.path("cluster").asText() + " (version " + stored.path("version").asLong() + ")");
        return 0;
    }

    private Integer applyFile() {
        if (namespace != null || name != null || !ports.isEmpty() || !ips.isEmpty() || !to.isEmpty() || type != null) {
            throw new InvalidFieldException("--file", file, "takes the exports from the file; give it alone, without "
                    + "--namespace, --name, --port, --ip, --to or --type");
        }
        JsonNode body;
        try {
            String text = file.toString().equals("-") ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                    : Files.readString(file);
            body = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new InvalidFieldException(file.toString(), "", "is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + e.getMessage());
        }
        try {
            ExportBatchRequest.parse(body, Instant.now()); // the gateway's own checks: a typo is named here
        } catch (InvalidFieldException e) {
            throw e.as(file + ": " + e.field());
        }
        AdminClient.Reply reply = admin.client().post("api/v1/exports/batch", body);
        if (!reply.ok()) {
            throw new CliException(reply.error());
        }
        JsonNode done = reply.json();
        spec.commandLine().getOut().println("cluster " + done.path("cluster").asText() + ": exported "
                + done.path("exported").asInt() + ", unchanged " + done.path("unchanged").asInt() + ", withdrawn "
                + done.path("withdrawn").asInt() + ", not exported " + done.path("absent").asInt()
                + " (version " + done.path("version").asLong() + ")");
        return 0;
    }

    private static void requireGiven(String flag, String value) {
        if (value == null) {
            throw new InvalidFieldException(flag, "", "is required, unless --file gives the exports");
        }
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
