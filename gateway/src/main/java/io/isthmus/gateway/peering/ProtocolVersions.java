package io.isthmus.gateway.peering;

import io.isthmus.api.grpc.peering.Hello;

import java.util.OptionalInt;

/**
 * A range of peering protocol versions a gateway speaks, as its hello announces it. Two gateways use the newest
 * version in both ranges, so during a rolling upgrade a new gateway speaks the old version with old peers and the
 * new one with new peers; ranges that do not meet are refused with both named. A version is dropped from
 * {@link #SPOKEN} only after a release that no longer needs it (one minor version of skew, as Kubernetes allows).
 */
record ProtocolVersions(int min, int max) {
    /** What this build speaks. Version 1: the messages of api/src/main/proto/peering.proto. */
    static final ProtocolVersions SPOKEN = new ProtocolVersions(1, 1);

    ProtocolVersions {
        if (min < 1 || max < min) {
            throw new IllegalArgumentException("invalid protocol version range " + min + ".." + max);
        }
    }

    /** The range a peer's hello announces; a hello from before ranges speaks its one version. */
    static ProtocolVersions of(Hello hello) {
        int max = hello.getProtocolVersion();
        int min = hello.getMinProtocolVersion() == 0 ? max : hello.getMinProtocolVersion();
        return max < 1 || min > max ? null : new ProtocolVersions(min, max);
    }

    /** The newest version both speak, if any. */
    OptionalInt agree(ProtocolVersions peer) {
        int newest = Math.min(max, peer.max);
        return newest >= Math.max(min, peer.min) ? OptionalInt.of(newest) : OptionalInt.empty();
    }

    Hello.Builder announce(Hello.Builder hello) {
        return hello.setProtocolVersion(max).setMinProtocolVersion(min);
    }

    @Override
    public String toString() {
        return min == max ? "version " + max : "versions " + min + " to " + max;
    }
}
