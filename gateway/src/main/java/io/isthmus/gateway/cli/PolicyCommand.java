package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.gateway.policy.FlowEnds;
import io.isthmus.policy.Policy;
import io.isthmus.policy.PolicyCodec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code isthmus policy ...}: the clusterset's GlobalNetworkPolicies. {@code check} reads a file here (no gateway
 * needed); the others talk to a running gateway's admin API, which passes what is applied to every cluster. Files are
 * checked here with the gateway's own reader before anything is sent, so a typo is named before anything leaves.
 */
@Command(name = "policy", description = "The clusterset's network policies (GlobalNetworkPolicy).",
        subcommands = {PolicyCommand.Apply.class, PolicyCommand.Get.class, PolicyCommand.ListPolicies.class,
                PolicyCommand.Delete.class, PolicyCommand.Check.class, PolicyCommand.Explain.class})
final class PolicyCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Every policy of {@code file} (YAML or JSON, "-" for standard input); an error names the file and the field. */
    static List<Policy> read(Path file) {
        String text;
        try {
            text = file.toString().equals("-") ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                    : Files.readString(file);
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + e.getMessage());
        }
        try {
            return PolicyCodec.read(text);
        } catch (InvalidFieldException e) {
            throw e.as(file + ": " + e.field());
        }
    }

    @Command(name = "apply", description = "Apply the policies of a file (all or none); they reach every cluster.")
    static final class Apply implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE",
                description = "GlobalNetworkPolicy objects in YAML (several separated by ---) or JSON; - for stdin.")
        Path file;

        @Override
        public Integer call() {
            List<Policy> policies = read(file);
            ObjectNode body = JSON.createObjectNode();
            ArrayNode items = body.putArray("items");
            policies.forEach(p -> items.add(PolicyCodec.tree(p)));
            JsonNode answer = IpamCommand.send(admin.client().post("api/v1/policies", body));
            PrintWriter out = spec.commandLine().getOut();
            for (JsonNode written : answer.path("written")) {
                out.println("applied " + written.path("metadata").path("name").asText() + " (revision "
                        + written.path("status").path("revision").asLong() + ")");
            }
            answer.path("unchanged").forEach(name -> out.println("unchanged " + name.asText()));
            out.println("policy version " + answer.path("version").asText());
            return 0;
        }
    }

    @Command(name = "get", description = "Print one policy as YAML (with its revision and the cluster that wrote it).")
    static final class Get implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        IpamCommand.JsonOption json;
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws IOException {
            Policy.requireName(name);
            JsonNode policy = IpamCommand.send(admin.client().get("api/v1/policies/" + name));
            json.print(spec.commandLine().getOut(), policy, (out, node) -> {
                try {
                    out.print(YAMLMapper.builder().build().writeValueAsString(node));
                } catch (IOException e) {
                    throw new CliException("cannot print the policy: " + e.getMessage());
                }
            });
            return 0;
        }
    }

    @Command(name = "list", description = "List the policies in force, in evaluation order, and each cluster's version.")
    static final class ListPolicies implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        IpamCommand.JsonOption json;

        @Override
        public Integer call() {
            JsonNode book = IpamCommand.send(admin.client().get("api/v1/policies"));
            json.print(spec.commandLine().getOut(), book, (out, node) -> {
                Table table = new Table("NAME", "ORDER", "INGRESS", "EGRESS", "REVISION", "WRITTEN BY");
                for (JsonNode policy : node.path("policies")) {
                    table.row(policy.path("metadata").path("name").asText(), policy.path("spec").path("order").asInt(),
                            policy.path("spec").path("ingress").size(), policy.path("spec").path("egress").size(),
                            policy.path("status").path("revision").asLong(), policy.path("status").path("origin").asText());
                }
                out.print(table.render());
                out.println("version " + node.path("version").asText() + ", cross-cluster default "
                        + node.path("crossClusterDefault").asText());
                node.path("peers").properties().forEach(peer -> out.println("  " + peer.getKey() + " holds "
                        + peer.getValue().asText()));
            });
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete policies in every cluster: several in one change, or --all.")
    static final class Delete implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Parameters(paramLabel = "NAME", arity = "0..*", description = "The policies to delete (in one change).")
        List<String> names = new java.util.ArrayList<>();
        @Option(names = "--all", description = "Delete every policy in force.")
        boolean all;

        @Override
        public Integer call() {
            List<String> chosen = new java.util.ArrayList<>(names);
            if (all == !chosen.isEmpty()) {
                throw new InvalidFieldException("NAME", String.join(" ", chosen), "name the policies to delete, or give --all");
            }
            if (all) {
                IpamCommand.send(admin.client().get("api/v1/policies")).path("policies")
                        .forEach(policy -> chosen.add(policy.path("metadata").path("name").asText()));
                if (chosen.isEmpty()) {
                    spec.commandLine().getOut().println("no policy in force");
                    return 0;
                }
            }
            chosen.forEach(Policy::requireName);
            if (chosen.size() == 1) {
                String name = chosen.getFirst();
                JsonNode answer = IpamCommand.send(admin.client().delete("api/v1/policies/" + name));
                spec.commandLine().getOut().println("deleted " + name + " (revision " + answer.path("revision").asLong()
                        + "); policy version " + answer.path("version").asText());
                return 0;
            }
            JsonNode answer = IpamCommand.send(admin.client().delete("api/v1/policies?" + String.join("&",
                    chosen.stream().map(n -> "name=" + n).toList())));
            answer.path("deleted").forEach(d -> spec.commandLine().getOut().println("deleted " + d.path("name").asText()
                    + " (revision " + d.path("revision").asLong() + ")"));
            spec.commandLine().getOut().println("policy version " + answer.path("version").asText());
            return 0;
        }
    }

    @Command(name = "explain", description = "Which rule decides a flow, and why (as the gateway's compiled table sees it).")
    static final class Explain implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        IpamCommand.JsonOption json;
        @Option(names = "--from", required = true, paramLabel = "IP|CLUSTER/NS/POD",
                description = "The source: a pod's IP, or the pod by name (east/shop/web-7f9c).")
        String from;
        @Option(names = "--to", required = true, paramLabel = "DEST:PORT/PROTO",
                description = "The destination: an IP (10.2.0.7:443/TCP, [fd00::7]:53/UDP, 10.2.0.7/ICMP), a pod "
                        + "(west/db/pg-0:5432/TCP) or an exported service (shop/cart:443/TCP: every address serving it).")
        String to;

        @Override
        public Integer call() {
            if (!FlowEnds.isName(from)) {
                IpLiteral.parse("--from", from.trim());
            }
            Destination destination = Destination.parse("--to", to);
            String query = "api/v1/explain?from=" + encode(from.trim()) + "&to=" + encode(destination.target())
                    + destination.protocol().map(p -> "&protocol=" + encode(p)).orElse("")
                    + destination.port().map(p -> "&port=" + encode(p)).orElse("");
            JsonNode answer = IpamCommand.send(admin.client().get(query));
            json.print(spec.commandLine().getOut(), answer, (out, node) -> out.print(node.path("text").asText()));
            return 0;
        }

        private static String encode(String text) {
            return java.net.URLEncoder.encode(text, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** {@code TARGET[:PORT][/PROTO]}; an IPv6 address with a port in [ ]. The gateway checks the target and port. */
    record Destination(String target, Optional<String> port, Optional<String> protocol) {
        private static final java.util.regex.Pattern PROTOCOL =
                java.util.regex.Pattern.compile("tcp|udp|sctp|icmp|icmpv6|\\d{1,3}", java.util.regex.Pattern.CASE_INSENSITIVE);

        static Destination parse(String option, String text) {
            String rest = text.trim();
            Optional<String> protocol = Optional.empty();
            int slash = rest.lastIndexOf('/');
            if (slash >= 0 && PROTOCOL.matcher(rest.substring(slash + 1)).matches()) {
                String name = rest.substring(slash + 1).toUpperCase(java.util.Locale.ROOT);
                protocol = Optional.of(name.equals("ICMPV6") ? "ICMP" : name);
                rest = rest.substring(0, slash);
            }
            Optional<String> port = Optional.empty();
            if (rest.startsWith("[")) {
                int close = rest.indexOf(']');
                if (close < 0) {
                    throw new InvalidFieldException(option, text, "an IPv6 address in [ ] lacks its ]");
                }
                if (rest.startsWith(":", close + 1)) {
                    port = Optional.of(rest.substring(close + 2));
                }
                rest = rest.substring(1, close);
            } else if (rest.indexOf(':') >= 0 && rest.indexOf(':') == rest.lastIndexOf(':')) {
                port = Optional.of(rest.substring(rest.indexOf(':') + 1));
                rest = rest.substring(0, rest.indexOf(':'));
            }
            if (rest.isEmpty()) {
                throw new InvalidFieldException(option, text, "names no destination");
            }
            if (!FlowEnds.isName(rest)) {
                IpLiteral.parse(option, rest);
            }
            return new Destination(rest, port, protocol);
        }
    }

    @Command(name = "check", description = "Check the policies of a file without a gateway (a dry run of apply).")
    static final class Check implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "FILE", description = "YAML or JSON; - for stdin.")
        Path file;

        @Override
        public Integer call() {
            List<Policy> policies = read(file);
            PrintWriter out = spec.commandLine().getOut();
            for (Policy policy : policies.stream().sorted(Policy.ORDER).toList()) {
                out.println("ok " + policy.name() + " (order " + policy.order() + ", " + policy.ingress().size()
                        + " ingress and " + policy.egress().size() + " egress rules)");
            }
            out.println(policies.size() + (policies.size() == 1 ? " policy" : " policies") + " valid, in evaluation order");
            return 0;
        }
    }
}
