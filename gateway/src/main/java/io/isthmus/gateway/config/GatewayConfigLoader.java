package io.isthmus.gateway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.isthmus.api.ClusterId;
import io.isthmus.api.DnsLabel;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.dns.ClientNetwork;
import io.isthmus.dns.Forwarding;
import io.isthmus.dns.Locality;
import io.isthmus.dns.RateLimit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a gateway config file (HOCON) against the defaults in reference.conf. Unknown keys under
 * {@code isthmus} and values of the wrong form fail with the setting's full path and the value given.
 */
public final class GatewayConfigLoader {
    private static final String ROOT = "isthmus";
    private static final Pattern SEED_NODE = Pattern.compile("pekko://isthmus@(\\[[0-9a-fA-F:.]+]|[^:/\\s\\[\\]]+):(\\d{1,5})");

    private GatewayConfigLoader() {
    }

    public static GatewayConfig load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InvalidFieldException("--config", file, "no such file");
        }
        Config user;
        try {
            user = ConfigFactory.parseFile(file.toFile(),
                    ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setAllowMissing(false));
        } catch (ConfigException e) {
            throw new InvalidFieldException("--config", file, "not valid HOCON: " + e.getMessage());
        }
        return fromConfig(user, file.toAbsolutePath().getParent());
    }

    /** {@code baseDir} resolves a relative data-dir; null means the working directory. */
    public static GatewayConfig fromConfig(Config user, Path baseDir) {
        Config reference = ConfigFactory.defaultReference().getConfig(ROOT);
        if (user.hasPath(ROOT)) {
            if (user.getValue(ROOT).valueType() != ConfigValueType.OBJECT) {
                throw new InvalidFieldException(ROOT, user.getValue(ROOT).unwrapped(), "must be a block { ... }");
            }
            rejectUnknownKeys(ROOT, user.getObject(ROOT), reference.root());
        }
        Config c;
        try {
            c = user.withOnlyPath(ROOT).withFallback(ConfigFactory.defaultReference().withOnlyPath(ROOT))
                    .resolve().getConfig(ROOT);
        } catch (ConfigException e) {
            throw new InvalidFieldException(ROOT, "", e.getMessage());
        }
        return read(c, baseDir);
    }

    private static GatewayConfig read(Config c, Path baseDir) {
        String clusterIdText = string(c, "cluster-id");
        if (clusterIdText.isEmpty()) {
            throw new InvalidFieldException("isthmus.cluster-id", "", "is required: name this cluster, e.g. cluster-id = east");
        }
        ClusterId clusterId = field("isthmus.cluster-id", () -> ClusterId.of(clusterIdText));
        String dataDirText = string(c, "data-dir");
        if (dataDirText.isBlank()) {
            throw new InvalidFieldException("isthmus.data-dir", dataDirText, "must not be empty");
        }
        Path dataDir = Path.of(dataDirText);
        if (!dataDir.isAbsolute() && baseDir != null) {
            dataDir = baseDir.resolve(dataDir);
        }
        HostPort admin = listen(c, "admin");
        String tlsText = string(c, "tls.dir");
        if (tlsText.isBlank()) {
            throw new InvalidFieldException("isthmus.tls.dir", tlsText, "must not be empty: peering runs over mutual TLS only");
        }
        Path tlsDir = dataDir.resolve(tlsText).normalize();
        List<HostPort> peers = new ArrayList<>();
        for (String peer : stringList(c, "peering.peers")) {
            peers.add(HostPort.parse("isthmus.peering.peers", peer));
        }
        for (HostPort joined : joinedPeers(tlsDir)) {
            if (!peers.contains(joined)) {
                peers.add(joined);
            }
        }
        GatewayConfig.Peering peering = new GatewayConfig.Peering(listen(c, "peering"), peers,
                positive(c, "peering.heartbeat-interval"), positive(c, "peering.reconnect-min-backoff"),
                positive(c, "peering.reconnect-max-backoff"), positive(c, "peering.import-ttl"), peeringLimits(c),
                io.isthmus.gateway.peering.EndpointScope.WithoutPlan.parse("isthmus.peering.endpoints-without-plan",
                        string(c, "peering.endpoints-without-plan")),
                io.isthmus.gateway.pki.StaleCrl.parse("isthmus.peering.revocation.stale-crl",
                        string(c, "peering.revocation.stale-crl")));
        if (peering.reconnectMaxBackoff().compareTo(peering.reconnectMinBackoff()) < 0) {
            throw new InvalidFieldException("isthmus.peering.reconnect-max-backoff", peering.reconnectMaxBackoff(),
                    "must not be less than reconnect-min-backoff (" + peering.reconnectMinBackoff() + ")");
        }
        String zone = string(c, "dns.zone").toLowerCase(Locale.ROOT);
        zone = zone.endsWith(".") ? zone.substring(0, zone.length() - 1) : zone;
        if (zone.isEmpty()) {
            throw new InvalidFieldException("isthmus.dns.zone", zone, "must not be empty");
        }
        for (String label : zone.split("\\.", -1)) {
            String z = zone;
            field("isthmus.dns.zone", () -> DnsLabel.require("isthmus.dns.zone", label.isEmpty() ? z : label));
        }
        Duration ttl = positive(c, "dns.ttl");
        if (ttl.toNanosPart() != 0 || ttl.toSeconds() > 86_400) {
            throw new InvalidFieldException("isthmus.dns.ttl", c.getValue("dns.ttl").unwrapped(),
                    "must be whole seconds, at most one day (86400 s)");
        }
        GatewayConfig.Dns dns = new GatewayConfig.Dns(listen(c, "dns"), zone, ttl,
                field("isthmus.dns.locality", () -> Locality.parse(string(c, "dns.locality"))),
                bool(c, "dns.cluster-names"), forwarding(c), rateLimit(c));
        List<String> seeds = stringList(c, "replicas.seed-nodes");
        for (String seed : seeds) {
            var seedMatch = SEED_NODE.matcher(seed);
            if (!seedMatch.matches() || Integer.parseInt(seedMatch.group(2)) < 1 || Integer.parseInt(seedMatch.group(2)) > 65535) {
                throw new InvalidFieldException("isthmus.replicas.seed-nodes", seed,
                        "expected pekko://isthmus@HOST:PORT, e.g. pekko://isthmus@10.1.0.5:7073");
            }
        }
        String replicaName = string(c, "replicas.name");
        if (!replicaName.isEmpty()) {
            field("isthmus.replicas.name", () -> DnsLabel.require("isthmus.replicas.name", replicaName));
        }
        GatewayConfig.Replicas replicas = new GatewayConfig.Replicas(listen(c, "replicas"), seeds, replicaName,
                kubernetesApiDiscovery(c, seeds));
        String joinTokenText = string(c, "tls.join-token-file");
        java.util.Optional<Path> joinTokenFile = joinTokenText.isBlank() ? java.util.Optional.empty()
                : java.util.Optional.of(dataDir.resolve(joinTokenText).normalize());
        return new GatewayConfig(clusterId, dataDir.normalize(), admin,
                io.isthmus.gateway.admin.AdminAuthSettings.read(c.getConfig("admin"), dataDir.normalize()), peering, dns, replicas, tlsDir, journal(c, baseDir),
                bool(c, "journal.schema-versions"), ipam(c, dataDir.normalize()), plan(c, clusterId),
                io.isthmus.gateway.tunnel.TunnelSettings.read(c.getConfig("tunnel")), kubernetes(c), policies(c), joinTokenFile);
    }

    /** The peers a join handed this cluster ({@code peers.joined} in the tls dir, one "host:port" per line). */
    private static List<HostPort> joinedPeers(Path tlsDir) {
        Path file = tlsDir.resolve(io.isthmus.gateway.pki.JoinClient.PEERS_FILE);
        if (!java.nio.file.Files.exists(file)) {
            return List.of();
        }
        List<HostPort> peers = new ArrayList<>();
        try {
            for (String line : java.nio.file.Files.readAllLines(file)) {
                if (!line.isBlank()) {
                    peers.add(HostPort.parse(file.toString(), line.strip()));
                }
            }
        } catch (java.io.IOException e) {
            throw new InvalidFieldException("isthmus.tls.dir", tlsDir, "cannot read " + file + ": " + e.getMessage());
        }
        return peers;
    }

    /** {@code isthmus.policy}. */
    static GatewayConfig.Policies policies(Config c) {
        return new GatewayConfig.Policies(io.isthmus.policy.CrossClusterDefault.parse("isthmus.policy.cross-cluster-default",
                string(c, "policy.cross-cluster-default")), atLeastOne(c, "policy.max-policies"),
                atLeastOne(c, "policy.max-workloads-per-peer"));
    }

    /** {@code peering.limits} and {@code peering.import-namespaces}. */
    static io.isthmus.gateway.peering.PeeringLimits peeringLimits(Config c) {
        long maxMessage = bytes(c, "peering.limits.max-message-size");
        if (maxMessage < 64 * 1024 || maxMessage > 1L << 30) {
            throw new InvalidFieldException("isthmus.peering.limits.max-message-size",
                    c.getValue("peering.limits.max-message-size").unwrapped(), "must be between 64 KiB and 1 GiB");
        }
        int exports = atLeastOne(c, "peering.limits.max-exports-per-peer");
        int endpointsPerExport = atLeastOne(c, "peering.limits.max-endpoints-per-export");
        long endpointsPerPeer = atLeastOne(c, "peering.limits.max-endpoints-per-peer");
        if (endpointsPerPeer < endpointsPerExport) {
            throw new InvalidFieldException("isthmus.peering.limits.max-endpoints-per-peer", endpointsPerPeer,
                    "must not be less than max-endpoints-per-export (" + endpointsPerExport + ")");
        }
        java.util.Set<String> allowed = namespaces(c, "peering.import-namespaces.allowed");
        java.util.Set<String> denied = namespaces(c, "peering.import-namespaces.denied");
        for (String namespace : allowed) {
            if (denied.contains(namespace)) {
                throw new InvalidFieldException("isthmus.peering.import-namespaces.allowed", namespace,
                        "is also in import-namespaces.denied; a namespace is either allowed or denied");
            }
        }
        java.time.Duration resyncMinInterval;
        try {
            resyncMinInterval = c.getDuration("peering.limits.resync-min-interval");
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus.peering.limits.resync-min-interval",
                    c.getValue("peering.limits.resync-min-interval").unwrapped(), "must be a duration such as 1s");
        }
        if (resyncMinInterval.isNegative() || resyncMinInterval.compareTo(java.time.Duration.ofMinutes(5)) > 0) {
            throw new InvalidFieldException("isthmus.peering.limits.resync-min-interval",
                    c.getValue("peering.limits.resync-min-interval").unwrapped(), "must be between 0s and 5m");
        }
        return new io.isthmus.gateway.peering.PeeringLimits(maxMessage, exports, endpointsPerExport, endpointsPerPeer,
                new io.isthmus.gateway.peering.PeeringLimits.ImportNamespaces(allowed, denied), resyncMinInterval,
                atLeastOne(c, "peering.limits.max-streams-per-peer"), atLeastOne(c, "peering.limits.stream-opens-per-minute"));
    }

    private static java.util.Set<String> namespaces(Config c, String key) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (String namespace : stringList(c, key)) {
            field("isthmus." + key, () -> DnsLabel.require("isthmus." + key, namespace));
            out.add(namespace);
        }
        return out;
    }

    private static int atLeastOne(Config c, String key) {
        int value = integer(c, key);
        if (value < 1) {
            throw new InvalidFieldException("isthmus." + key, c.getValue(key).unwrapped(), "must be at least 1");
        }
        return value;
    }

    private static long bytes(Config c, String key) {
        try {
            return c.getBytes(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus." + key, c.getValue(key).unwrapped(),
                    "must be a size such as 16 MiB or 1048576");
        }
    }

    private static GatewayConfig.Kubernetes kubernetes(Config c) {
        String url = string(c, "kubernetes.master-url");
        if (!url.isEmpty() && !url.matches("https?://[^/\\s]+/?")) {
            throw new InvalidFieldException("isthmus.kubernetes.master-url", url,
                    "expected the API server as http(s)://HOST:PORT, e.g. https://10.96.0.1:443 (or empty)");
        }
        List<String> namespaces = stringList(c, "kubernetes.namespaces");
        for (String namespace : namespaces) {
            field("isthmus.kubernetes.namespaces", () -> DnsLabel.require("isthmus.kubernetes.namespaces", namespace));
        }
        return new GatewayConfig.Kubernetes(bool(c, "kubernetes.enabled"), url, namespaces,
                positive(c, "kubernetes.resync-interval"), bool(c, "kubernetes.peers"), kubernetesIpam(c),
                bool(c, "kubernetes.policies"));
    }

    /** {@code replicas.discovery}: seed-nodes (the list), or kubernetes-api (pekko-management cluster bootstrap). */
    private static java.util.Optional<GatewayConfig.KubernetesApiDiscovery> kubernetesApiDiscovery(Config c, List<String> seeds) {
        String discovery = string(c, "replicas.discovery");
        switch (discovery) {
            case "seed-nodes" -> {
                return java.util.Optional.empty();
            }
            case "kubernetes-api" -> {
                if (!seeds.isEmpty()) {
                    throw new InvalidFieldException("isthmus.replicas.seed-nodes", seeds,
                            "must be empty with replicas.discovery = kubernetes-api (the replicas find each other)");
                }
                String selector = string(c, "replicas.kubernetes-api.pod-label-selector");
                if (selector.isBlank()) {
                    throw new InvalidFieldException("isthmus.replicas.kubernetes-api.pod-label-selector", selector,
                            "must select the replicas' pods, e.g. isthmus.io/replica=true");
                }
                int required = integer(c, "replicas.kubernetes-api.required-contact-points");
                if (required < 1) {
                    throw new InvalidFieldException("isthmus.replicas.kubernetes-api.required-contact-points", required,
                            "must be at least 1");
                }
                int port = integer(c, "replicas.kubernetes-api.management-port");
                if (port < 1 || port > 65535) {
                    throw new InvalidFieldException("isthmus.replicas.kubernetes-api.management-port", port,
                            "must be between 1 and 65535");
                }
                return java.util.Optional.of(new GatewayConfig.KubernetesApiDiscovery(selector, required, port));
            }
            default -> throw new InvalidFieldException("isthmus.replicas.discovery", discovery,
                    "must be seed-nodes or kubernetes-api");
        }
    }

    /** The address plan, when any supernet is configured. */
    private static java.util.Optional<io.isthmus.ipam.plan.PlanConfig> plan(Config c, ClusterId self) {
        Config plan = c.getConfig("plan");
        boolean anySupernet = plan.getObject("supernets").keySet().stream()
                .anyMatch(kind -> plan.getValue("supernets." + kind).valueType() != ConfigValueType.LIST
                        || !plan.getList("supernets." + kind).isEmpty());
        if (!anySupernet) {
            return java.util.Optional.empty();
        }
        for (String key : List.of("claim-timeout", "retransmit-interval", "gossip-interval")) {
            positive(c, "plan." + key);
        }
        try {
            return java.util.Optional.of(io.isthmus.ipam.plan.PlanConfig.fromConfig(self, plan));
        } catch (InvalidFieldException e) {
            throw e.as("isthmus." + e.field());
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus.plan", "", e.getMessage());
        }
    }

    private static final Pattern FIXED_IP_POD = Pattern.compile("[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?/[a-z0-9*]([-a-z0-9.*]*[a-z0-9*])?");

    private static GatewayConfig.Ipam ipam(Config c, Path dataDir) {
        for (String key : List.of("reservation-timeout", "expiry-check-interval", "reclaim-grace", "reclaim-interval", "ask-timeout")) {
            positive(c, "ipam." + key);
        }
        for (String key : List.of("max-batch", "snapshot-every")) {
            if (integer(c, "ipam." + key) < 1) {
                throw new InvalidFieldException("isthmus.ipam." + key, c.getValue("ipam." + key).unwrapped(), "must be at least 1");
            }
        }
        io.isthmus.ipam.IpamSettings settings = io.isthmus.ipam.IpamSettings.fromConfig(c.atPath(ROOT));
        String socket = string(c, "ipam.cni-socket");
        String callerGroup = string(c, "ipam.cni-caller-group");
        io.isthmus.ipam.cni.CniCallers callers;
        try {
            callers = callerGroup.isBlank() ? io.isthmus.ipam.cni.CniCallers.rootOnly()
                    : io.isthmus.ipam.cni.CniCallers.rootOrGroup(callerGroup);
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException("isthmus.ipam.cni-caller-group", callerGroup, e.getMessage());
        }
        String owners = string(c, "ipam.owners-file");
        List<String> fixed = stringList(c, "ipam.fixed-ip-pods");
        for (String pattern : fixed) {
            if (!FIXED_IP_POD.matcher(pattern).matches()) {
                throw new InvalidFieldException("isthmus.ipam.fixed-ip-pods", pattern,
                        "expected NAMESPACE/NAME with * as a wildcard, e.g. db/postgres-*");
            }
        }
        if (kubernetesIpam(c).ownerSource() == io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings.OwnerSource.PODS
                && !owners.isBlank()) {
            throw new InvalidFieldException("isthmus.ipam.owners-file", owners,
                    "kubernetes.ipam.owner-source = pods takes the owners from the pods: leave owners-file empty");
        }
        String node = string(c, "ipam.cni-node");
        node = node.isBlank() ? hostname() : node;
        try {
            new io.isthmus.ipam.CniAttachmentKey(node, "n", "c", "i");
        } catch (InvalidFieldException e) {
            throw new InvalidFieldException("isthmus.ipam.cni-node", node, "must be a node name: " + e.getMessage());
        }
        return new GatewayConfig.Ipam(settings,
                socket.isBlank() ? java.util.Optional.empty() : java.util.Optional.of(dataDir.resolve(socket)), callers,
                node,
                owners.isBlank() ? java.util.Optional.empty() : java.util.Optional.of(dataDir.resolve(owners)), fixed,
                Path.of(string(c, "ipam.sriov-sysfs-root")), dataDir.resolve("ipam-vfs.json"));
    }

    /** The kernel's host name (what a node is called unless Kubernetes names it). */
    private static String hostname() {
        try {
            return java.nio.file.Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (java.io.IOException e) {
            try {
                return java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.net.UnknownHostException unknown) {
                throw new InvalidFieldException("isthmus.ipam.cni-node", "", "this host has no name to use: set it");
            }
        }
    }

    /** {@code kubernetes.ipam}: this gateway's IPPools and pod owners. */
    private static io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings kubernetesIpam(Config c) {
        String source = string(c, "kubernetes.ipam.owner-source");
        var ownerSource = io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings.OwnerSource.parse(source).orElseThrow(() ->
                new InvalidFieldException("isthmus.kubernetes.ipam.owner-source", source, "must be owners-file or pods"));
        return new io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings(bool(c, "kubernetes.ipam.pools"), ownerSource,
                positive(c, "kubernetes.ipam.status-interval"), positive(c, "kubernetes.ipam.informer-resync"));
    }

    private static GatewayConfig.Journal journal(Config c, Path baseDir) {
        String kind = string(c, "journal.kind");
        return switch (kind) {
            case "h2" -> new GatewayConfig.H2Journal();
            case "postgres" -> {
                String url = string(c, "journal.postgres.url");
                if (!url.startsWith("jdbc:postgresql://")) {
                    throw new InvalidFieldException("isthmus.journal.postgres.url", url,
                            "must be a PostgreSQL JDBC URL, e.g. jdbc:postgresql://10.1.0.9:5432/isthmus");
                }
                String password = string(c, "journal.postgres.password");
                String passwordFile = string(c, "journal.postgres.password-file");
                if (!passwordFile.isEmpty()) {
                    Path file = baseDir == null ? Path.of(passwordFile) : baseDir.resolve(passwordFile);
                    try {
                        password = Files.readString(file).strip();
                    } catch (java.io.IOException e) {
                        throw new InvalidFieldException("isthmus.journal.postgres.password-file", passwordFile,
                                "cannot be read: " + e.getMessage());
                    }
                }
                yield new GatewayConfig.PostgresJournal(url, string(c, "journal.postgres.user"), password);
            }
            default -> throw new InvalidFieldException("isthmus.journal.kind", kind, "must be h2 or postgres");
        };
    }

    private static Forwarding forwarding(Config c) {
        List<ClientNetwork> allowed = new ArrayList<>();
        for (String network : stringList(c, "dns.forward.allowed-clients")) {
            allowed.add(field("isthmus.dns.forward.allowed-clients", () -> ClientNetwork.parse(network)));
        }
        var upstreams = field("isthmus.dns.forward.upstreams",
                () -> Forwarding.parseUpstreams(stringList(c, "dns.forward.upstreams")));
        int attempts = integer(c, "dns.forward.attempts");
        int cacheEntries = integer(c, "dns.forward.cache-entries");
        Duration timeout = positive(c, "dns.forward.timeout");
        try {
            return new Forwarding(upstreams, timeout, attempts, cacheEntries, allowed);
        } catch (InvalidFieldException e) {
            // The dns module names its fields in words ("dns forward timeout"); say them as the config does.
            throw e.as("isthmus." + e.field().replace("dns forward ", "dns.forward.").replace(' ', '-'));
        }
    }

    private static RateLimit rateLimit(Config c) {
        List<ClientNetwork> exempt = new ArrayList<>();
        for (String network : stringList(c, "dns.rate-limit.exempt-clients")) {
            exempt.add(field("isthmus.dns.rate-limit.exempt-clients", () -> ClientNetwork.parse(network)));
        }
        try {
            return new RateLimit(integer(c, "dns.rate-limit.responses-per-second"),
                    integer(c, "dns.rate-limit.burst"), integer(c, "dns.rate-limit.slip"),
                    integer(c, "dns.rate-limit.ipv4-prefix-length"), integer(c, "dns.rate-limit.ipv6-prefix-length"),
                    integer(c, "dns.rate-limit.table-size"), exempt);
        } catch (InvalidFieldException e) {
            // The dns module names its fields in words ("dns rate limit burst"); say them as the config does.
            throw e.field().startsWith("isthmus.") ? e
                    : e.as("isthmus." + e.field().replace("dns rate limit ", "dns.rate-limit.").replace(' ', '-'));
        }
    }

    private static boolean bool(Config c, String key) {
        try {
            return c.getBoolean(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus." + key, c.getValue(key).unwrapped(), "must be on or off");
        }
    }

    private static int integer(Config c, String key) {
        try {
            return c.getInt(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus." + key, c.getValue(key).unwrapped(), "must be a whole number");
        }
    }

    private static void rejectUnknownKeys(String path, ConfigObject given, ConfigObject known) {
        for (Map.Entry<String, ConfigValue> entry : given.entrySet()) {
            String key = entry.getKey();
            String full = path + "." + key;
            ConfigValue knownValue = known.get(key);
            if (knownValue == null) {
                throw new InvalidFieldException(full, entry.getValue().unwrapped(),
                        "unknown setting; the settings are listed with their defaults in the gateway's reference.conf");
            }
            if (knownValue.valueType() == ConfigValueType.OBJECT) {
                if (entry.getValue().valueType() != ConfigValueType.OBJECT) {
                    throw new InvalidFieldException(full, entry.getValue().unwrapped(), "must be a block { ... }");
                }
                rejectUnknownKeys(full, (ConfigObject) entry.getValue(), (ConfigObject) knownValue);
            }
        }
    }

    private static HostPort listen(Config c, String block) {
        String host = string(c, block + ".host");
        int port;
        try {
            port = c.getInt(block + ".port");
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus." + block + ".port", c.getValue(block + ".port").unwrapped(),
                    "must be a number between 0 and 65535");
        }
        if (port < 0 || port > 65535) {
            throw new InvalidFieldException("isthmus." + block + ".port", port, "must be between 0 and 65535");
        }
        if (host.isBlank()) {
            throw new InvalidFieldException("isthmus." + block + ".host", host, "must not be empty");
        }
        return new HostPort(host, port);
    }

    private static String string(Config c, String key) {
        try {
            return c.getString(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus." + key, c.getValue(key).unwrapped(), "must be a string");
        }
    }

    private static List<String> stringList(Config c, String key) {
        try {
            return c.getStringList(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus." + key, c.getValue(key).unwrapped(), "must be a list of strings");
        }
    }

    private static Duration positive(Config c, String key) {
        Duration d;
        try {
            d = c.getDuration(key);
        } catch (ConfigException e) {
            throw new InvalidFieldException("isthmus." + key, c.getValue(key).unwrapped(),
                    "must be a duration such as 500ms, 5s or 1m");
        }
        if (d.isNegative() || d.isZero()) {
            throw new InvalidFieldException("isthmus." + key, c.getValue(key).unwrapped(), "must be greater than zero");
        }
        return d;
    }

    private static <T> T field(String field, java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (InvalidFieldException e) {
            throw e.as(field);
        }
    }
}
