package io.isthmus.ipam.cni;

import io.isthmus.ipam.cni.CniBackend.CheckRequest;
import io.isthmus.ipam.cni.CniBackend.Lease;
import io.isthmus.ipam.cni.CniBackend.ReleaseRequest;
import io.isthmus.ipam.cni.CniBackend.Reservation;
import io.isthmus.ipam.cni.CniBackend.ReserveRequest;
import io.isthmus.ipam.cni.CniWire.Reply;
import io.isthmus.ipam.cni.CniWire.Request;
import io.isthmus.ipam.cni.NetworkConfig.CniVersion;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * What the gateway does for each CNI call: validate the environment and the config, ask the {@link CniBackend},
 * and turn its answer into the plugin's exit code and stdout. Knows nothing of sockets; {@link CniServer} carries
 * the frames.
 */
final class CniHandler {
    private final CniBackend backend;
    private final Duration backendTimeout;

    CniHandler(CniBackend backend, Duration backendTimeout) {
        this.backend = backend;
        this.backendTimeout = backendTimeout;
    }

    /** The outcome of a request: finished, or (ADD) addresses reserved and waiting for the plugin's commit. */
    sealed interface Step {
    }

    record Finished(Reply reply) implements Step {
    }

    record Reserved(Reservation reservation, NetworkConfig config) implements Step {
    }

    /** Never throws: every failure becomes a CNI error reply. */
    Step handle(Request request) {
        String version = NetworkConfig.versionText(request.config());
        try {
            Map<String, String> args = CallEnvironment.parseArgs(request.args());
            return switch (request.op()) {
                case ADD -> add(request, args);
                case DEL -> new Finished(del(request, args));
                case CHECK -> new Finished(check(request, args));
                case STATUS -> new Finished(status(request, args));
                case GC -> new Finished(gc(request, args));
                case COMMIT -> throw new CniCallException(CniErrorCode.IO_FAILURE, "COMMIT without a reservation");
            };
        } catch (CniCallException e) {
            return new Finished(errorReply(version, e, request.op() + " " + request.containerId() + "/" + request.ifname()));
        }
    }

    /** Turns the reservation into a durable lease and answers the ADD result. */
    Reply commit(Reserved reserved) {
        Reservation reservation = reserved.reservation();
        String call = "ADD " + reservation.attachment().containerId() + "/" + reservation.attachment().ifname();
        try {
            Lease lease = await(backend.commit(reservation), "commit the reservation in pool " + reservation.pool());
            return Reply.done(0, CniResults.success(reserved.config().version(), lease.addressing(), lease.vf(),
                            reservation.attachment().ifname()),
                    call + ": leased " + addresses(lease.addressing()) + " in pool " + lease.pool()
                            + lease.vf().map(vf -> " with VF " + vf.index() + " of " + vf.pf() + " (" + vf.pciAddress()
                            + ")").orElse(""));
        } catch (CniCallException e) {
            return errorReply(reserved.config().version().text, e, call);
        }
    }

    private Step add(Request request, Map<String, String> args) throws CniCallException {
        CallEnvironment env = CallEnvironment.of(request.containerId(), request.netns(), request.ifname(), args, true);
        NetworkConfig config = NetworkConfig.parse(request.config(), args);
        Reservation reservation = await(backend.reserve(new ReserveRequest(config.pool(), config.network(),
                env.attachment(), env.pod(), config.requestedIps(), config.vfFrom())), "reserve in pool " + config.pool()
                + config.vfFrom().map(pf -> " with a VF of " + pf).orElse(""));
        return new Reserved(reservation, config);
    }

    private Reply del(Request request, Map<String, String> args) throws CniCallException {
        CallEnvironment env = CallEnvironment.of(request.containerId(), request.netns(), request.ifname(), args, false);
        NetworkConfig config = NetworkConfig.parse(request.config(), args);
        String call = "DEL " + env.attachment().containerId() + "/" + env.attachment().ifname();
        try {
            await(backend.release(new ReleaseRequest(config.pool(), config.network(), env.attachment(), env.pod())),
                    "release in pool " + config.pool());
        } catch (CniCallException e) {
            if (e.backendError().orElse(null) != CniBackendError.UNKNOWN_POOL) {
                throw e;
            }
            // DEL is best effort: a pool that no longer exists holds nothing to free.
            return Reply.done(0, "", call + ": " + e.details() + "; nothing to release");
        }
        return Reply.done(0, "", call + ": released in pool " + config.pool());
    }

    private Reply check(Request request, Map<String, String> args) throws CniCallException {
        CallEnvironment env = CallEnvironment.of(request.containerId(), request.netns(), request.ifname(), args, true);
        NetworkConfig config = NetworkConfig.parse(request.config(), args);
        if (config.version().compareTo(CniVersion.V0_4_0) < 0) {
            throw new CniCallException(CniErrorCode.INCOMPATIBLE_VERSION,
                    "config version " + config.version().text + " does not allow CHECK (0.4.0 and later do)");
        }
        Optional<Lease> lease = await(backend.check(new CheckRequest(config.pool(), config.network(),
                env.attachment(), env.pod())), "look up the lease in pool " + config.pool());
        String attachment = env.attachment().containerId() + "/" + env.attachment().ifname();
        if (lease.isEmpty()) {
            throw new CniCallException(CniErrorCode.NO_LEASE, "container " + attachment + " holds no lease in pool "
                    + config.pool());
        }
        Set<String> leased = lease.get().addressing().ips().stream().map(CniResults::addressText)
                .collect(Collectors.toSet());
        if (config.previousAddresses().isPresent() && !config.previousAddresses().get().equals(leased)) {
            throw new CniCallException(CniErrorCode.LEASE_MISMATCH, "container " + attachment + " holds " + leased
                    + " in pool " + config.pool() + " but its previous result says " + config.previousAddresses().get());
        }
        if (config.vfFrom().isPresent() && lease.get().vf().isEmpty()) {
            throw new CniCallException(CniErrorCode.LEASE_MISMATCH, "container " + attachment + " holds " + leased
                    + " in pool " + config.pool() + " but no VF of " + config.vfFrom().get());
        }
        return Reply.done(0, "", "CHECK " + attachment + ": holds " + leased + " in pool " + config.pool()
                + lease.get().vf().map(vf -> " and VF " + vf.index() + " of " + vf.pf()).orElse(""));
    }

    /** STATUS: the gateway answers, so ADDs can be served; this does not ask the pool how many addresses are free. */
    private Reply status(Request request, Map<String, String> args) throws CniCallException {
        NetworkConfig config = NetworkConfig.parse(request.config(), args);
        requireAtLeast(config, CniVersion.V1_1_0, "STATUS");
        return Reply.done(0, "", "STATUS: the gateway serves pool " + config.pool());
    }

    /**
     * GC: frees this node's leases of the network whose attachments the runtime no longer lists in
     * {@code cni.dev/valid-attachments} (CNI 1.1). Without that list nothing can be told apart, so it is refused.
     */
    private Reply gc(Request request, Map<String, String> args) throws CniCallException {
        NetworkConfig config = NetworkConfig.parse(request.config(), args);
        requireAtLeast(config, CniVersion.V1_1_0, "GC");
        java.util.Set<CniBackend.Attachment> valid = validAttachments(request.config());
        CniBackend.GcResult result = await(backend.gc(new CniBackend.GcRequest(config.pool(), config.network(), valid)),
                "collect the leases of network " + config.network());
        return Reply.done(0, "", "GC of network " + config.network() + " in pool " + config.pool() + ": "
                + valid.size() + " attachments valid, freed " + result.freed().size()
                + (result.freed().isEmpty() ? "" : " " + result.freed()));
    }

    private static final String VALID_ATTACHMENTS = "cni.dev/valid-attachments";

    private static java.util.Set<CniBackend.Attachment> validAttachments(byte[] config) throws CniCallException {
        com.fasterxml.jackson.databind.JsonNode list;
        try {
            list = new com.fasterxml.jackson.databind.ObjectMapper().readTree(config).get(VALID_ATTACHMENTS);
        } catch (java.io.IOException e) {
            throw new CniCallException(CniErrorCode.DECODING_FAILURE, "the network config is not JSON: " + e.getMessage());
        }
        if (list == null || !list.isArray()) {
            throw new CniCallException(CniErrorCode.INVALID_CONFIG, VALID_ATTACHMENTS + " must be a list of "
                    + "{containerID, ifname} for GC, got " + (list == null ? "nothing" : list.toString())
                    + ": without it every lease would look stale, so nothing is freed");
        }
        java.util.Set<CniBackend.Attachment> valid = new java.util.HashSet<>();
        int index = 0;
        for (com.fasterxml.jackson.databind.JsonNode entry : list) {
            String field = VALID_ATTACHMENTS + "[" + index++ + "]";
            com.fasterxml.jackson.databind.JsonNode container = entry.get("containerID");
            com.fasterxml.jackson.databind.JsonNode ifname = entry.get("ifname");
            if (container == null || !container.isTextual() || ifname == null || !ifname.isTextual()) {
                throw new CniCallException(CniErrorCode.INVALID_CONFIG, field + " must be {\"containerID\": ..., "
                        + "\"ifname\": ...}, got " + entry);
            }
            try {
                valid.add(new CniBackend.Attachment(container.asText(), ifname.asText()));
            } catch (IllegalArgumentException e) {
                throw new CniCallException(CniErrorCode.INVALID_CONFIG, field + ": " + e.getMessage());
            }
        }
        return valid;
    }

    private static void requireAtLeast(NetworkConfig config, CniVersion least, String command) throws CniCallException {
        if (config.version().compareTo(least) < 0) {
            throw new CniCallException(CniErrorCode.INCOMPATIBLE_VERSION,
                    "config version " + config.version().text + " does not allow " + command + " (" + least.text + " does)");
        }
    }

    private <T> T await(CompletionStage<T> stage, String what) throws CniCallException {
        try {
            return stage.toCompletableFuture().get(backendTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof CniBackendException refused) {
                throw new CniCallException(refused);
            }
            throw new CniCallException(CniErrorCode.TRY_AGAIN_LATER, "could not " + what + ": " + cause);
        } catch (TimeoutException e) {
            throw new CniCallException(CniErrorCode.TRY_AGAIN_LATER,
                    "could not " + what + ": no answer within " + backendTimeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CniCallException(CniErrorCode.TRY_AGAIN_LATER, "could not " + what + ": the gateway is stopping");
        }
    }

    private static Reply errorReply(String version, CniCallException e, String call) {
        return Reply.done(e.code().code(), CniResults.error(version, e.code(), e.details()),
                call + " failed with code " + e.code().code() + ": " + e.details());
    }

    private static String addresses(CniBackend.Addressing addressing) {
        return addressing.ips().stream().map(CniResults::addressText).collect(Collectors.joining(", "));
    }
}
