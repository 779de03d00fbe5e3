package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.ipam.cni.CniPluginInstaller;
import io.isthmus.ipam.cni.CniServer;
import io.isthmus.tunnel.KernelRoutes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code isthmus uninstall}: removes from this node what Isthmus put there, and nothing else. Each thing is
 * recognised by a mark of ours: the demo's network namespaces by their names ({@code isd<N>-<cluster>-gw|pod}),
 * routes by routing protocol {@value KernelRoutes#ROUTE_PROTOCOL}, XDP programs by their name
 * ({@value #XDP_PROGRAM}), TUN devices by the configured name and their kind, pinned BPF objects by their
 * directory, the CNI plugin by its name and the socket path compiled into it, the runtime directory by its path.
 * Refuses while a gateway still serves the CNI socket (it would put things back), unless {@code --force}.
 */
@Command(name = "uninstall", description = "Remove what Isthmus put on this node: the CNI plugin, its runtime "
        + "directory, pinned BPF objects, attached XDP programs, routes (protocol 73), TUN devices and the demo's "
        + "network namespaces.")
final class UninstallCommand implements Callable<Integer> {
    static final String XDP_PROGRAM = "isthmus_xdp";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--dry-run", description = "Only say what would be removed.")
    boolean dryRun;

    @Option(names = "--force", description = "Also while a gateway serves the CNI socket.")
    boolean force;

    @Option(names = "--cni-bin-dir", paramLabel = "DIR", defaultValue = "/opt/cni/bin",
            description = "Where the CNI plugin was installed (default: ${DEFAULT-VALUE}).")
    Path cniBinDir;

    @Option(names = "--cni-conf-dir", paramLabel = "DIR", defaultValue = "/etc/cni/net.d",
            description = "Network configs naming isthmus-ipam are reported, never removed: an operator wrote them "
                    + "(default: ${DEFAULT-VALUE}).")
    Path cniConfDir;

    @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "/run/isthmus",
            description = "The CNI socket's directory (default: ${DEFAULT-VALUE}).")
    Path runDir;

    @Option(names = "--bpf-pin-dir", paramLabel = "DIR", defaultValue = "/sys/fs/bpf/isthmus",
            description = "Where the XDP filter pinned its maps (default: ${DEFAULT-VALUE}).")
    Path bpfPinDir;

    @Option(names = "--device", paramLabel = "NAME", defaultValue = "isthmus0",
            description = "The tunnel's TUN device (isthmus.tunnel.device; default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--demo-prefix", paramLabel = "PREFIX", defaultValue = "isd", description = "The demo's "
            + "network namespaces are PREFIX<N>-<cluster>-gw|pod (default: ${DEFAULT-VALUE}).")
    String demoPrefix;

    @Option(names = "--host-namespace", paramLabel = "true|false", defaultValue = "true", arity = "1",
            description = "Look in this process's own network namespace too (default: ${DEFAULT-VALUE}).")
    boolean hostNamespace;

    @Option(names = "--netns", paramLabel = "NAME", description = "Also look in this network namespace for "
            + "routes, XDP programs and the TUN device (isthmus.tunnel.namespace); repeatable. It is not deleted.")
    List<String> namespaces = new ArrayList<>();

    private PrintWriter out;
    private final List<String> removed = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();

    @Override
    public Integer call() {
        out = spec.commandLine().getOut();
        Path socket = runDir.resolve(Path.of(CniServer.DEFAULT_SOCKET).getFileName());
        if (!force && serving(socket)) {
            throw new CliException("a gateway serves CNI at " + socket + ": stop it first (it would put back what"
                    + " this removes), or pass --force");
        }
        if (!demoPrefix.matches("[a-z][a-z0-9]*")) {
            throw new CliException("--demo-prefix " + demoPrefix + ": lower-case letters and digits, starting with a letter");
        }
        Pattern demoNamespace = Pattern.compile(Pattern.quote(demoPrefix) + "\\d+-[a-z]+-(gw|pod)");
        List<String> all = listNamespaces();
        for (String ns : all) {
            if (demoNamespace.matcher(ns).matches()) {
                act("network namespace " + ns, () -> ip(null, "netns", "del", ns));
            }
        }
        List<String> where = new ArrayList<>();
        if (hostNamespace) {
            where.add(null); // this process's own namespace
        }
        for (String ns : namespaces) {
            if (!all.contains(ns)) {
                failures.add("--netns " + ns + ": no such network namespace (ip netns list)");
            } else {
                where.add(ns);
            }
        }
        for (String ns : where) {
            String in = ns == null ? "" : " in netns " + ns;
            for (String[] attached : xdpPrograms(ns)) {
                String link = attached[0];
                String slot = attached[1];
                act("XDP program " + XDP_PROGRAM + " on " + link + " (" + slot + ")" + in,
                        () -> ip(ns, "link", "set", "dev", link, slot, "off"));
            }
            for (String family : List.of("-4", "-6")) {
                for (String route : routesOfOurs(ns, family)) {
                    act("route " + route + in, () -> ip(ns, family, "route", "del", route.split(" ")));
                }
            }
            if (isTun(ns, device)) {
                act("TUN device " + device + in, () -> ip(ns, "link", "del", "dev", device));
            }
        }
        if (Files.isDirectory(bpfPinDir)) {
            act("pinned BPF objects in " + bpfPinDir, () -> deleteTree(bpfPinDir));
        }
        Path plugin = cniBinDir.resolve(CniPluginInstaller.PLUGIN_NAME);
        if (Files.isRegularFile(plugin)) {
            if (ours(plugin)) {
                act("CNI plugin " + plugin, () -> Files.delete(plugin));
            } else {
                failures.add(plugin + " is not the isthmus-ipam plugin (it does not name " + CniServer.DEFAULT_SOCKET
                        + "): left alone");
            }
        }
        if (Files.isDirectory(cniBinDir)) {
            // an install killed midway leaves its copy under the installer's temporary name
            try (Stream<Path> files = Files.list(cniBinDir)) {
                for (Path partial : files.filter(f -> f.getFileName().toString().startsWith("." + CniPluginInstaller.PLUGIN_NAME)
                        && f.getFileName().toString().endsWith(".partial")).sorted().toList()) {
                    act("partial CNI plugin copy " + partial, () -> Files.delete(partial));
                }
            } catch (IOException e) {
                failures.add("cannot read " + cniBinDir + ": " + e.getMessage());
            }
        }
        if (Files.isDirectory(runDir)) {
            act("runtime directory " + runDir, () -> deleteTree(runDir));
        }
        reportConfigs();
        if (removed.isEmpty() && failures.isEmpty()) {
            out.println("nothing to remove");
        }
        failures.forEach(f -> spec.commandLine().getErr().println("isthmus uninstall: " + f));
        out.flush();
        return failures.isEmpty() ? 0 : 1;
    }

    @FunctionalInterface
    private interface Step {
        void run() throws IOException;
    }

    private void act(String what, Step step) {
        if (dryRun) {
            out.println("would remove " + what);
            removed.add(what);
            return;
        }
        try {
            step.run();
            out.println("removed " + what);
            removed.add(what);
        } catch (IOException | RuntimeException e) {
            failures.add("could not remove " + what + ": " + e.getMessage());
        }
    }

    private static boolean serving(Path socket) {
        if (!Files.exists(socket)) {
            return false;
        }
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            return channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            return false; // a socket file nobody listens on: left by a gateway that is gone
        }
    }

    private static boolean ours(Path plugin) {
        try {
            byte[] bytes = Files.readAllBytes(plugin);
            return new String(bytes, StandardCharsets.ISO_8859_1).contains(CniServer.DEFAULT_SOCKET);
        } catch (IOException e) {
            return false;
        }
    }

    private List<String> listNamespaces() {
        List<String> names = new ArrayList<>();
        try {
            JsonNode list = json(ip(null, "-j", "netns", "list"));
            list.forEach(ns -> names.add(ns.path("name").asText()));
        } catch (IOException e) {
            failures.add("cannot list network namespaces: " + e.getMessage());
        }
        return names;
    }

    /**
     * Links carrying our program, each with the slot it sits in ({@code xdpdrv}, {@code xdpgeneric},
     * {@code xdpoffload}): only that slot is switched off, so another program in another slot stays.
     */
    private List<String[]> xdpPrograms(String ns) {
        List<String[]> found = new ArrayList<>();
        try {
            for (JsonNode link : json(ip(ns, "-d", "-j", "link", "show"))) {
                JsonNode xdp = link.path("xdp");
                // ip lists every program under "attached" (one per slot); older ip only the one at the top
                List<JsonNode> programs = new ArrayList<>();
                xdp.path("attached").forEach(programs::add);
                if (programs.isEmpty() && xdp.has("prog")) {
                    programs.add(xdp);
                }
                for (JsonNode program : programs) {
                    if (program.path("prog").path("name").asText().equals(XDP_PROGRAM)) {
                        String slot = switch (program.path("mode").asInt()) {
                            case 1 -> "xdpdrv";
                            case 2 -> "xdpgeneric";
                            case 3 -> "xdpoffload";
                            default -> "xdp";
                        };
                        found.add(new String[] {link.path("ifname").asText(), slot});
                    }
                }
            }
        } catch (IOException e) {
            failures.add("cannot list links" + (ns == null ? "" : " in netns " + ns) + ": " + e.getMessage());
        }
        return found;
    }

    /** Our routes as {@code ip route del} takes them: destination, table and protocol. */
    private List<String> routesOfOurs(String ns, String family) {
        List<String> routes = new ArrayList<>();
        try {
            for (JsonNode route : json(ip(ns, family, "-j", "route", "show", "table", "all", "proto",
                    Integer.toString(KernelRoutes.ROUTE_PROTOCOL)))) {
                String table = route.path("table").asText("main");
                routes.add(route.path("dst").asText() + " table " + table + " proto " + KernelRoutes.ROUTE_PROTOCOL
                        + (route.has("dev") ? " dev " + route.path("dev").asText() : ""));
            }
        } catch (IOException e) {
            failures.add("cannot list routes" + (ns == null ? "" : " in netns " + ns) + ": " + e.getMessage());
        }
        return routes;
    }

    private boolean isTun(String ns, String name) {
        try {
            for (JsonNode link : json(ip(ns, "-d", "-j", "link", "show"))) {
                if (link.path("ifname").asText().equals(name)) {
                    return link.path("linkinfo").path("info_kind").asText().equals("tun");
                }
            }
        } catch (IOException e) {
            failures.add("cannot list links: " + e.getMessage());
        }
        return false;
    }

    private void reportConfigs() {
        if (!Files.isDirectory(cniConfDir)) {
            return;
        }
        try (Stream<Path> configs = Files.list(cniConfDir)) {
            for (Path config : configs.sorted().toList()) {
                if (Files.isRegularFile(config) && Files.readString(config).contains("\"" + CniPluginInstaller.PLUGIN_NAME + "\"")) {
                    out.println("kept " + config + ": it names " + CniPluginInstaller.PLUGIN_NAME
                            + ", and was written by an operator, not by isthmus; remove it with the network it configures");
                }
            }
        } catch (IOException e) {
            failures.add("cannot read " + cniConfDir + ": " + e.getMessage());
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    private static JsonNode json(String text) throws IOException {
        return text.isBlank() ? JSON.createArrayNode() : JSON.readTree(text);
    }

    /** {@code ip [-n NS] ARGS...}: its output, or an IOException with what it said. */
    private static String ip(String ns, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("ip"));
        if (ns != null) {
            command.addAll(List.of("-n", ns));
        }
        command.addAll(List.of(args));
        return HostCommand.run(command);
    }

    private static String ip(String ns, String family, String verb, String subverb, String[] route) throws IOException {
        List<String> args = new ArrayList<>(List.of(family, verb, subverb));
        args.addAll(List.of(route));
        return ip(ns, args.toArray(String[]::new));
    }
}
