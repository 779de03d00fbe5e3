package io.isthmus.ipam.cni;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The parts of a CNI network config the IPAM plugin reads, validated: the spec version, the network name, the
 * {@code ipam} section ({@code type}, {@code pool}, {@code socket}, {@code sriov}) and the static addresses a runtime may ask for
 * through the conventions {@code args.cni.ips} and {@code runtimeConfig.ips} (CNI CONVENTIONS.md). For CHECK it also
 * reads the addresses of {@code prevResult}.
 */
record NetworkConfig(CniVersion version, String network, String pool, List<InetAddress> requestedIps,
                     Optional<Set<String>> previousAddresses, Optional<String> vfFrom) {

    private static final Set<String> IPAM_FIELDS = Set.of("type", "pool", "socket", "sriov");
    private static final Set<String> SRIOV_FIELDS = Set.of("pf");
    /** A netdev name as the kernel takes it: 1-15 bytes, no '/', ':' or whitespace. */
    private static final Pattern NETDEV = Pattern.compile("[^/:\\s]{1,15}");
    private static final Pattern NETWORK_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]*");
    private static final JsonMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    NetworkConfig {
        requestedIps = List.copyOf(requestedIps);
    }

    /** The versions this plugin speaks, also what VERSION answers (isthmus-ipam.c lists the same). */
    enum CniVersion {
        V0_3_0("0.3.0"), V0_3_1("0.3.1"), V0_4_0("0.4.0"), V1_0_0("1.0.0"), V1_1_0("1.1.0");

        final String text;

        CniVersion(String text) {
            this.text = text;
        }

        static Optional<CniVersion> of(String text) {
            for (CniVersion version : values()) {
                if (version.text.equals(text)) {
                    return Optional.of(version);
                }
            }
            return Optional.empty();
        }

        /** Results of 0.3.x and 0.4.0 carry {@code "version": "4"} on each IP; 1.0.0 dropped it. */
        boolean ipsCarryVersion() {
            return compareTo(V1_0_0) < 0;
        }
    }

    /** The config's cniVersion for an error result, when it is one we speak; else the newest we speak. */
    static String versionText(byte[] json) {
        try {
            JsonNode version = JSON.readTree(json).path("cniVersion");
            return CniVersion.of(version.asText()).orElse(CniVersion.V1_1_0).text;
        } catch (IOException | RuntimeException e) {
            return CniVersion.V1_1_0.text;
        }
    }

    /**
     * Reads {@code json} (the plugin's stdin). {@code cniArgs} are the parsed {@code CNI_ARGS}; their {@code IP}
     * key (comma separated) is the older way to ask for a static address.
     */
    static NetworkConfig parse(byte[] json, Map<String, String> cniArgs) throws CniCallException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new CniCallException(CniErrorCode.DECODING_FAILURE,
                    "the network config is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new CniCallException(CniErrorCode.IO_FAILURE, "cannot read the network config: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new CniCallException(CniErrorCode.DECODING_FAILURE, "the network config must be a JSON object");
        }
        JsonNode versionNode = root.get("cniVersion");
        if (versionNode == null || !versionNode.isTextual()) {
            throw invalid("cniVersion is missing (one of " + supported() + ")");
        }
        CniVersion version = CniVersion.of(versionNode.asText()).orElseThrow(() -> new CniCallException(
                CniErrorCode.INCOMPATIBLE_VERSION,
                "cniVersion " + versionNode.asText() + " is not supported; isthmus-ipam speaks " + supported()));
        JsonNode nameNode = root.get("name");
        if (nameNode == null || !nameNode.isTextual() || !NETWORK_NAME.matcher(nameNode.asText()).matches()) {
            throw invalid("name must be a network name (letters, digits, '_', '.', '-'), got " + nameNode);
        }
        JsonNode ipam = root.get("ipam");
        if (ipam == null || !ipam.isObject()) {
            throw invalid("ipam is missing: the config needs \"ipam\": {\"type\": \"isthmus-ipam\", \"pool\": NAME}");
        }
        for (Map.Entry<String, JsonNode> field : ipam.properties()) {
            if (!IPAM_FIELDS.contains(field.getKey())) {
                throw new CniCallException(CniErrorCode.UNSUPPORTED_FIELD, "ipam." + field.getKey() + " = "
                        + field.getValue() + " is not a field of isthmus-ipam (it knows " + IPAM_FIELDS + ")");
            }
        }
        JsonNode pool = ipam.get("pool");
        if (pool == null || !pool.isTextual() || pool.asText().isBlank()) {
            throw invalid("ipam.pool is missing: name the Isthmus pool to allocate from, \"pool\": NAME");
        }
        JsonNode socket = ipam.get("socket");
        if (socket != null && (!socket.isTextual() || socket.asText().isEmpty())) {
            throw invalid("ipam.socket must be the path of the gateway's unix socket, got " + socket);
        }

        Set<InetAddress> requested = new LinkedHashSet<>();
        addIps(requested, "args.cni.ips", root.path("args").path("cni").get("ips"));
        addIps(requested, "runtimeConfig.ips", root.path("runtimeConfig").get("ips"));
        String legacy = cniArgs.get("IP");
        if (legacy != null && !legacy.isBlank()) {
            for (String ip : legacy.split(",")) {
                requested.add(ipOf("CNI_ARGS IP", ip));
            }
        }
        return new NetworkConfig(version, nameNode.asText(), pool.asText(), new ArrayList<>(requested),
                previousAddresses(root.get("prevResult")), vfFrom(ipam.get("sriov")));
    }

    /** {@code "sriov": {"pf": "enp59s0f0"}}: the attachment also takes a VF from that physical function's pool. */
    private static Optional<String> vfFrom(JsonNode sriov) throws CniCallException {
        if (sriov == null) {
            return Optional.empty();
        }
        if (!sriov.isObject()) {
            throw invalid("ipam.sriov must be an object naming the physical function, {\"pf\": NETDEV}, got " + sriov);
        }
        for (Map.Entry<String, JsonNode> field : sriov.properties()) {
            if (!SRIOV_FIELDS.contains(field.getKey())) {
                throw new CniCallException(CniErrorCode.UNSUPPORTED_FIELD, "ipam.sriov." + field.getKey() + " = "
                        + field.getValue() + " is not a field of isthmus-ipam (it knows " + SRIOV_FIELDS + ")");
            }
        }
        JsonNode pf = sriov.get("pf");
        if (pf == null || !pf.isTextual() || !NETDEV.matcher(pf.asText()).matches()
                || pf.asText().equals(".") || pf.asText().equals("..")) {
            throw invalid("ipam.sriov.pf must name the physical function's network device on the node (1-15 bytes,"
                    + " no '/', ':' or spaces), got " + pf);
        }
        return Optional.of(pf.asText());
    }

    private static void addIps(Set<InetAddress> into, String field, JsonNode ips) throws CniCallException {
        if (ips == null || ips.isNull()) {
            return;
        }
        if (!ips.isArray()) {
            throw invalid(field + " must be a list of addresses, got " + ips);
        }
        for (JsonNode ip : ips) {
            if (!ip.isTextual()) {
                throw invalid(field + " must be a list of addresses, got " + ip);
            }
            into.add(ipOf(field, ip.asText()));
        }
    }

    /** {@code 10.1.0.5} or {@code 10.1.0.5/24}: the prefix, when given, is the pool's business, not the caller's. */
    private static InetAddress ipOf(String field, String text) throws CniCallException {
        String address = text.contains("/") ? text.substring(0, text.indexOf('/')) : text;
        try {
            return IpLiteral.parse(field, address);
        } catch (InvalidFieldException e) {
            throw invalid(field + " holds " + text + ", which is not an IP address");
        }
    }

    private static Optional<Set<String>> previousAddresses(JsonNode prevResult) throws CniCallException {
        if (prevResult == null || prevResult.isNull()) {
            return Optional.empty();
        }
        JsonNode ips = prevResult.get("ips");
        Set<String> addresses = new LinkedHashSet<>();
        if (ips != null && ips.isArray()) {
            for (JsonNode ip : ips) {
                JsonNode address = ip.get("address");
                if (address == null || !address.isTextual()) {
                    throw invalid("prevResult.ips holds an entry without an address: " + ip);
                }
                addresses.add(normalized("prevResult.ips", address.asText()));
            }
        }
        return Optional.of(addresses);
    }

    /** {@code ADDRESS/PREFIX} in the form {@link CniResults#addressText} writes, so results compare as text. */
    private static String normalized(String field, String cidr) throws CniCallException {
        int slash = cidr.indexOf('/');
        if (slash < 0 || !cidr.substring(slash + 1).matches("\\d{1,3}")) {
            throw invalid(field + " holds " + cidr + ", which is not ADDRESS/PREFIX");
        }
        return CniResults.text(ipOf(field, cidr)) + "/" + Integer.parseInt(cidr.substring(slash + 1));
    }

    private static CniCallException invalid(String details) {
        return new CniCallException(CniErrorCode.INVALID_CONFIG, details);
    }

    private static String supported() {
        List<String> texts = new ArrayList<>();
        for (CniVersion version : CniVersion.values()) {
            texts.add(version.text);
        }
        return String.join(", ", texts);
    }
}
