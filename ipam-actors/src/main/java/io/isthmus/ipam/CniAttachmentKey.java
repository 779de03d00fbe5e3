package io.isthmus.ipam;

import io.isthmus.api.InvalidFieldException;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a lease made through CNI is bound to, as the pools store it: the node, the CNI network, the container and
 * the interface ({@code node/network/containerId/ifname}). Only that attachment's DEL releases the lease, and a
 * node's GC can tell its own leases, of its own network, from everyone else's.
 *
 * <p>Leases made before the node was recorded hold the bare container id; {@link #sameContainer} lets a DEL or
 * CHECK from that container still match them, and {@link #parse} says they name no node (GC leaves them to the
 * reclaimer). The parts are CNI's own: container ids, interface and network names hold letters, digits and
 * {@code -_.} only, node names are DNS names, so none holds a {@code /}.
 */
public record CniAttachmentKey(String node, String network, String containerId, String ifname) {
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]*");

    public CniAttachmentKey {
        require("node", node);
        require("network", network);
        require("containerId", containerId);
        require("ifname", ifname);
    }

    private static void require(String field, String value) {
        if (value == null || !PART.matcher(value).matches()) {
            throw new InvalidFieldException(field, value, "must be letters, digits, '-', '_' or '.' (no '/')");
        }
    }

    /** How the pools store it. */
    public String text() {
        return node + "/" + network + "/" + containerId + "/" + ifname;
    }

    /** The key in {@code stored}; empty for "" (no attachment) and for a bare container id from before keys. */
    public static Optional<CniAttachmentKey> parse(String stored) {
        String[] parts = stored.split("/", -1);
        if (parts.length != 4) {
            return Optional.empty();
        }
        try {
            return Optional.of(new CniAttachmentKey(parts[0], parts[1], parts[2], parts[3]));
        } catch (InvalidFieldException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether a holding bound to {@code held} belongs to the caller {@code claimed} (both as stored): the same key,
     * or a bare container id from before keys that is {@code claimed}'s container.
     */
    public static boolean sameContainer(String held, String claimed) {
        if (held.equals(claimed)) {
            return true;
        }
        return !held.contains("/") && parse(claimed).map(key -> key.containerId().equals(held)).orElse(false);
    }
}
