package io.isthmus.ipam.cni;

import io.isthmus.ipam.cni.CniBackend.Attachment;
import io.isthmus.ipam.cni.CniBackend.PodIdentity;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The CNI_* variables of one call, validated: which are required depends on the command (SPEC.md section 2), and an
 * invalid one is CNI error 4 naming the variable. The pod identity comes from the Kubernetes keys of
 * {@code CNI_ARGS} ({@code K8S_POD_NAMESPACE}, {@code K8S_POD_NAME}, {@code K8S_POD_UID}).
 */
record CallEnvironment(Attachment attachment, String netns, Optional<PodIdentity> pod, Map<String, String> args) {

    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]*");
    private static final int MAX_IFNAME = 15; // IFNAMSIZ - 1

    /** Parses {@code CNI_ARGS} ("K=V;K=V"); a pair without '=' is error 4. */
    static Map<String, String> parseArgs(String cniArgs) throws CniCallException {
        Map<String, String> args = new LinkedHashMap<>();
        if (cniArgs.isBlank()) {
            return args;
        }
        for (String pair : cniArgs.split(";")) {
            if (pair.isEmpty()) {
                continue;
            }
            int equals = pair.indexOf('=');
            if (equals <= 0) {
                throw invalid("CNI_ARGS holds \"" + pair + "\", which is not KEY=VALUE (pairs are separated by ';')");
            }
            args.put(pair.substring(0, equals), pair.substring(equals + 1));
        }
        return args;
    }

    /** {@code netnsRequired}: ADD and CHECK need CNI_NETNS, DEL does not (the namespace may be gone). */
    static CallEnvironment of(String containerId, String netns, String ifname, Map<String, String> args,
                              boolean netnsRequired) throws CniCallException {
        if (containerId.isEmpty()) {
            throw invalid("CNI_CONTAINERID is not set");
        }
        if (!CONTAINER_ID.matcher(containerId).matches()) {
            throw invalid("CNI_CONTAINERID=" + containerId + " must start with a letter or digit and hold only "
                    + "letters, digits, '_', '.', '-'");
        }
        if (ifname.isEmpty()) {
            throw invalid("CNI_IFNAME is not set");
        }
        if (ifname.length() > MAX_IFNAME || ifname.contains("/") || ifname.isBlank() || ifname.equals(".")
                || ifname.equals("..") || ifname.chars().anyMatch(Character::isWhitespace)) {
            throw invalid("CNI_IFNAME=" + ifname + " is not a valid interface name (1-15 characters, no '/' or spaces)");
        }
        if (netnsRequired && netns.isEmpty()) {
            throw invalid("CNI_NETNS is not set");
        }
        if (!netns.isEmpty() && !netns.startsWith("/")) {
            throw invalid("CNI_NETNS=" + netns + " is not an absolute path (a runtime passes /var/run/netns/... or "
                    + "/proc/PID/ns/net)");
        }
        // The runtime names the sandbox twice (CNI_CONTAINERID and, for Kubernetes, K8S_POD_INFRA_CONTAINER_ID):
        // a caller naming two different sandboxes is not a runtime speaking for one.
        String infra = args.getOrDefault("K8S_POD_INFRA_CONTAINER_ID", "");
        if (!infra.isEmpty() && !infra.equals(containerId)) {
            throw invalid("CNI_ARGS K8S_POD_INFRA_CONTAINER_ID=" + infra + " is not CNI_CONTAINERID=" + containerId
                    + "; both name the pod's sandbox");
        }
        String namespace = args.getOrDefault("K8S_POD_NAMESPACE", "");
        String name = args.getOrDefault("K8S_POD_NAME", "");
        Optional<PodIdentity> pod = Optional.empty();
        if (!namespace.isEmpty() || !name.isEmpty()) {
            if (namespace.isEmpty() || name.isEmpty()) {
                throw invalid("CNI_ARGS has " + (namespace.isEmpty() ? "K8S_POD_NAME but no K8S_POD_NAMESPACE"
                        : "K8S_POD_NAMESPACE but no K8S_POD_NAME") + "; a pod needs both");
            }
            pod = Optional.of(new PodIdentity(namespace, name, args.getOrDefault("K8S_POD_UID", "")));
        }
        return new CallEnvironment(new Attachment(containerId, ifname), netns, pod, Map.copyOf(args));
    }

    private static CniCallException invalid(String details) {
        return new CniCallException(CniErrorCode.INVALID_ENVIRONMENT, details);
    }
}
