package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.ClusterId;
import io.isthmus.api.DnsLabel;
import io.isthmus.gateway.ipam.IpamJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code isthmus ipam ...}: the address pools of a running gateway, through its admin API. Every request is checked
 * here with the same parser the gateway uses before it is sent, so a typo is named before anything leaves.
 */
@Command(name = "ipam", description = "IP pools, allocations, leases and reclaims of a running gateway.",
        subcommands = {IpamCommand.Pools.class, IpamCommand.CreatePool.class, IpamPoolCommand.class, IpamCommand.Allocate.class,
                IpamCommand.Release.class, IpamCommand.Leases.class, IpamCommand.Reclaim.class,
                IpamCommand.Segments.class, IpamCommand.Claim.class, IpamCommand.Register.class, IpamCommand.Unregister.class,
                IpamCommand.WhoHolds.class})
final class IpamCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();
    // Only for checking requests locally: the gateway fills in its own cluster.
    private static final ClusterId ANY_CLUSTER = ClusterId.of("local");

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Output as JSON instead of a table. */
    static final class JsonOption {
        @Option(names = "--json", description = "Print the gateway's JSON answer.")
        boolean json;

        /** The answer as JSON with --json, else as the command's table. */
        void print(PrintWriter out, JsonNode answer, java.util.function.BiConsumer<PrintWriter, JsonNode> table) {
            if (json) {
                out.println(answer.toPrettyString());
            } else {
                table.accept(out, answer);
            }
        }
    }

    /** {@code --pool NAME}. */
    static final class PoolOption {
        @Option(names = "--pool", required = true, paramLabel = "NAME", description = "The pool.")
        String name;

        String checked() {
            return DnsLabel.require("--pool", name);
        }
    }

    /** The owner of an allocation: {@code --namespace --name [--kind] [--uid]}. */
    static final class OwnerOptions {
        @Option(names = "--namespace", required = true, paramLabel = "NS")
        String namespace;

        @Option(names = "--name", required = true, paramLabel = "NAME", description = "The owner's name (a pod, a VM).")
        String name;

        @Option(names = "--kind", defaultValue = "Pod", paramLabel = "KIND",
                description = "Pod (default), StatefulSetPod or VirtualMachine (these two keep a fixed IP), or Static.")
        String kind;

        @Option(names = "--uid", defaultValue = "", paramLabel = "UID", description = "This incarnation's uid.")
        String uid;

        ObjectNode json() {
            return JSON.createObjectNode().put("namespace", namespace).put("kind", kind).put("name", name).put("uid", uid);
        }
    }

    static JsonNode send(AdminClient.Reply reply) {
        if (!reply.ok()) {
            throw new CliException(reply.error());
        }
        return reply.json();
    }

    static void printPools(PrintWriter out, JsonNode pools) {
        Table table = new Table("POOL", "CIDR", "USED", "CAPACITY", "ACTIVE", "PARKED", "RESERVED", "RECLAIMED");
        for (JsonNode pool : pools) {
            for (JsonNode usage : pool.path("usage")) {
                table.row(pool.path("name").asText(), usage.path("cidr").asText(), usage.path("used").asLong(),
                        usage.path("capacity").asText(), pool.path("active").asInt(), pool.path("parked").asInt(),
                        pool.path("reservations").asInt(), pool.path("reclaimed").asLong());
            }
        }
        out.print(table.render());
    }

    static void printLeases(PrintWriter out, JsonNode leases) {
        Table table = new Table("POOL", "OWNER", "UID", "ADDRESSES", "STATE", "SINCE");
        for (JsonNode lease : leases) {
            JsonNode owner = lease.path("owner");
            List<String> addresses = new ArrayList<>();
            lease.path("addresses").forEach(a -> addresses.add(a.path("cidr").asText()));
            table.row(lease.path("pool").asText(), owner.path("namespace").asText() + "/" + owner.path("kind").asText()
                            + "/" + owner.path("name").asText(), owner.path("uid").asText().isEmpty() ? "-" : owner.path("uid").asText(),
                    String.join(",", addresses), lease.path("state").asText(), lease.path("since").asText());
        }
        out.print(table.render());
    }

    @Command(name = "pools", description = "List the pools with their usage.")
    static final class Pools implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        JsonOption json;

        @Override
        public Integer call() {
            json.print(spec.commandLine().getOut(), send(admin.client().get("api/v1/ipam/pools")), IpamCommand::printPools);
            return 0;
        }
    }

    @Command(name = "create-pool", description = "Create a pool inside a segment this cluster holds.")
    static final class CreatePool implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;

        @Option(names = "--name", required = true, paramLabel = "NAME")
        String name;

        @Option(names = "--cidr", required = true, paramLabel = "CIDR",
                description = "An IPv4 and/or an IPv6 CIDR (repeat for a dual-stack pool).")
        List<String> cidrs = new ArrayList<>();

        @Option(names = "--exclude", paramLabel = "RANGE", description = "FIRST-LAST, an address or a CIDR never handed out.")
        List<String> exclude = new ArrayList<>();

        @Option(names = "--reserved", paramLabel = "ADDR", description = "Only handed out when asked for by address.")
        List<String> reserved = new ArrayList<>();

        @Option(names = "--gateway", paramLabel = "ADDR", description = "The subnet's gateway (one per family).")
        List<String> gateways = new ArrayList<>();

        @Option(names = "--route", paramLabel = "CIDR[ via ADDR]", description = "A route handed out with every lease.")
        List<String> routes = new ArrayList<>();

        @Override
        public Integer call() {
            ObjectNode body = JSON.createObjectNode().put("name", name);
            cidrs.forEach(body.putArray("cidrs")::add);
            exclude.forEach(body.putArray("exclude")::add);
            reserved.forEach(body.putArray("reserved")::add);
            gateways.forEach(body.putArray("gateways")::add);
            routes.forEach(body.putArray("routes")::add);
            new IpamJson(JSON).poolSpec(body);
            JsonNode pool = send(admin.client().post("api/v1/ipam/pools", body));
            spec.commandLine().getOut().println("created pool " + pool.path("name").asText());
            printPools(spec.commandLine().getOut(), JSON.createArrayNode().add(pool));
            return 0;
        }
    }

    @Command(name = "allocate", description = "Allocate addresses for an owner (durable when it returns).")
    static final class Allocate implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        PoolOption pool;
        @Mixin
        OwnerOptions owner;
        @Mixin
        JsonOption json;

        @Option(names = "--ip", paramLabel = "ADDR", description = "Exactly this address (a static IP); one per family.")
        List<String> ips = new ArrayList<>();

        @Option(names = "--within", paramLabel = "CIDR", description = "Any free address inside this range of the pool.")
        List<String> within = new ArrayList<>();

        @Override
        public Integer call() {
            ObjectNode body = JSON.createObjectNode();
            body.set("owner", owner.json());
            ips.forEach(body.putArray("ips")::add);
            within.forEach(body.putArray("within")::add);
            new IpamJson(JSON).allocation(body, ANY_CLUSTER);
            JsonNode lease = send(admin.client().post("api/v1/ipam/pools/" + pool.checked() + "/allocations", body));
            json.print(spec.commandLine().getOut(), lease, (out, one) -> printLeases(out, JSON.createArrayNode().add(one)));
            return 0;
        }
    }

    @Command(name = "release", description = "Release what an owner holds in a pool.")
    static final class Release implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        PoolOption pool;
        @Mixin
        OwnerOptions owner;

        @Option(names = "--forget", description = "Also free a fixed IP (the owner's identity is gone for good).")
        boolean forget;

        @Override
        public Integer call() {
            ObjectNode body = JSON.createObjectNode().put("mode", forget ? "forget" : "keep-fixed");
            body.set("owner", owner.json());
            new IpamJson(JSON).release(body, ANY_CLUSTER);
            JsonNode result = send(admin.client().post("api/v1/ipam/pools/" + pool.checked() + "/releases", body));
            List<String> addresses = new ArrayList<>();
            result.path("addresses").forEach(a -> addresses.add(a.asText()));
            spec.commandLine().getOut().println(switch (result.path("outcome").asText()) {
                case "freed" -> "released " + String.join(", ", addresses);
                case "kept-for-identity" -> "released; " + String.join(", ", addresses) + " stays reserved for "
                        + owner.namespace + "/" + owner.name + " (a fixed IP; --forget frees it)";
                default -> owner.namespace + "/" + owner.name + " held nothing in pool " + pool.name;
            });
            return 0;
        }
    }

    @Command(name = "leases", description = "List the leases of a pool.")
    static final class Leases implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        PoolOption pool;
        @Mixin
        JsonOption json;

        @Override
        public Integer call() {
            json.print(spec.commandLine().getOut(), send(admin.client().get("api/v1/ipam/pools/" + pool.checked() + "/leases")),
                    IpamCommand::printLeases);
            return 0;
        }
    }

    @Command(name = "who-holds", description = "Who holds an address: its lease in the pool containing it, if any.")
    static final class WhoHolds implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        JsonOption json;
        @Option(names = "--address", required = true, paramLabel = "IP", description = "An IPv4 or IPv6 address.")
        String address;

        @Override
        public Integer call() {
            String checked = io.isthmus.api.ipam.LeasedAddress.text(io.isthmus.api.IpLiteral.parse("--address", address));
            json.print(spec.commandLine().getOut(), send(admin.client().get("api/v1/ipam/addresses/" + checked)),
                    (out, answer) -> {
                        if (answer.path("held").asBoolean()) {
                            printLeases(out, JSON.createArrayNode().add(answer.path("lease")));
                        } else {
                            out.println(checked + " is free (no owner holds it)");
                        }
                    });
            return 0;
        }
    }

    @Command(name = "reclaim", description = "Show a pool's reclaims; with --now, reclaim leaked addresses at once.")
    static final class Reclaim implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        PoolOption pool;

        @Option(names = "--now", description = "Ask the owner source now and free what gone owners hold (no grace).")
        boolean now;

        @Override
        public Integer call() {
            String path = "api/v1/ipam/pools/" + pool.checked() + (now ? "/reclaim" : "/reclaims");
            JsonNode reclaims = send(now ? admin.client().post(path, JSON.createObjectNode()) : admin.client().get(path));
            Table table = new Table("POOL", "OWNER", "ADDRESSES", "AT", "REASON");
            for (JsonNode record : reclaims) {
                JsonNode owner = record.path("owner");
                List<String> addresses = new ArrayList<>();
                record.path("addresses").forEach(a -> addresses.add(a.asText()));
                table.row(record.path("pool").asText(), owner.path("namespace").asText() + "/"
                                + owner.path("kind").asText() + "/" + owner.path("name").asText(),
                        String.join(",", addresses), record.path("at").asText(), record.path("reason").asText());
            }
            PrintWriter out = spec.commandLine().getOut();
            if (now) {
                out.println("reclaimed " + reclaims.size() + " lease(s)");
            }
            out.print(table.render());
            return 0;
        }
    }

    @Command(name = "claim", description = "Claim a segment of the clusterset address plan for this cluster "
            + "(returns once a majority of the clusterset agreed).")
    static final class Claim implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;

        @Option(names = "--kind", required = true, paramLabel = "KIND", description = "pod, service, underlay or global.")
        String kind;

        @Option(names = "--cidr", paramLabel = "CIDR", description = "This segment (default: the next free one).")
        String cidr;

        @Override
        public Integer call() {
            ObjectNode body = JSON.createObjectNode().put("kind", kind);
            if (cidr != null) {
                io.isthmus.api.Cidr.parse("--cidr", cidr);
                body.put("cidr", cidr);
            }
            JsonNode plan = send(admin.client().post("api/v1/ipam/segments", body));
            printSegments(spec.commandLine().getOut(), plan);
            return 0;
        }
    }

    /** {@code --kind KIND --cidr CIDR}: a registered range, for register and unregister. */
    static final class Registration {
        @Option(names = "--kind", required = true, paramLabel = "KIND", description = "pod, service, underlay or global.")
        String kind;

        @Option(names = "--cidr", required = true, paramLabel = "CIDR")
        String cidr;
    }

    @Command(name = "register", description = "Register a CIDR this cluster already uses, so overlaps are reported.")
    static final class Register implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;

        @Mixin
        Registration registration;

        @Override
        public Integer call() {
            io.isthmus.api.Cidr.parse("--cidr", registration.cidr);
            JsonNode plan = send(admin.client().post("api/v1/ipam/registrations",
                    JSON.createObjectNode().put("kind", registration.kind).put("cidr", registration.cidr)));
            printSegments(spec.commandLine().getOut(), plan);
            return 0;
        }
    }

    @Command(name = "unregister", description = "Withdraw a CIDR this cluster registered (it is no longer in use here).")
    static final class Unregister implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;

        @Mixin
        Registration registration;

        @Override
        public Integer call() {
            io.isthmus.api.Cidr.parse("--cidr", registration.cidr);
            JsonNode plan = send(admin.client().delete("api/v1/ipam/registrations?kind="
                    + java.net.URLEncoder.encode(registration.kind, java.nio.charset.StandardCharsets.UTF_8) + "&cidr="
                    + java.net.URLEncoder.encode(registration.cidr, java.nio.charset.StandardCharsets.UTF_8)));
            printSegments(spec.commandLine().getOut(), plan);
            return 0;
        }
    }

    static void printSegments(PrintWriter out, JsonNode plan) {
        Table table = new Table("CLUSTER", "KIND", "SEGMENT", "STATE");
        for (JsonNode segment : plan.path("segments")) {
            table.row(segment.path("cluster").asText(), segment.path("kind").asText(),
                    segment.path("cidr").asText(), segment.path("state").asText());
        }
        out.print(table.render());
        for (JsonNode overlap : plan.path("overlaps")) {
            out.println("overlap: " + overlap.path("message").asText());
        }
    }

    @Command(name = "segments", description = "The clusterset address plan: the segments every cluster holds.")
    static final class Segments implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        JsonOption json;

        @Override
        public Integer call() {
            json.print(spec.commandLine().getOut(), send(admin.client().get("api/v1/ipam/segments")), IpamCommand::printSegments);
            return 0;
        }
    }
}
