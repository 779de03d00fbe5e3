package io.isthmus.gateway.ipam;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.LeasedAddress;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.ipam.CniAttachmentKey;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.cni.CniBackend;
import io.isthmus.ipam.cni.CniBackendError;
import io.isthmus.ipam.cni.CniBackendException;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The CNI endpoint's way to the pools: turns a CNI attachment into an IPAM owner and the pools' answers into CNI
 * addressing. The owner of a Kubernetes pod is {@code namespace/name} (kind from {@link PodKinds}: a StatefulSet pod
 * is sticky and gets its fixed IP back); a call without pod arguments is owned by its container id in namespace
 * {@value #NO_POD_NAMESPACE}.
 *
 * <p>Every lease is bound to the attachment that reserved it, with this node and the network
 * ({@link CniAttachmentKey}): only its DEL releases it, and this node's GC frees it once the runtime no longer lists
 * it. The pod a call claims is confirmed by {@link PodClaims} first (in Kubernetes: against the API) before anything
 * is reserved or released.
 */
public final class PoolCniBackend implements CniBackend {
    static final String NO_POD_NAMESPACE = "cni";

    /** Which kind of owner a pod is; Kubernetes answers from the pod's controller, config answers without it. */
    @FunctionalInterface
    public interface PodKinds {
        OwnerKind kindOf(String namespace, String name);
    }

    /**
     * Confirms the pod a CNI call claims. Outside Kubernetes nothing can, and {@link #UNCHECKED} lets every claim
     * stand (the container binding of the leases still holds).
     */
    @FunctionalInterface
    public interface PodClaims {
        PodClaims UNCHECKED = (claimed, adding) -> CompletableFuture.completedFuture(null);

        /**
         * Completes when the claim holds; fails with {@link CniBackendError#POD_NOT_CONFIRMED} when it does not.
         * {@code adding}: ADD or CHECK (the pod must exist now), else DEL (the pod may be gone already).
         */
        CompletionStage<Void> confirm(Optional<PodIdentity> claimed, boolean adding);
    }

    private final Ipam ipam;
    private final PodKinds podKinds;
    private final PodClaims podClaims;
    private final String node;
    private final AllocationTimer timer;

    /**
     * @param node  this node's name ({@code isthmus.ipam.cni-node}), recorded on every lease made here
     * @param timer where the time of each allocation (ADD's reserve, pod confirmation included) goes
     */
    public PoolCniBackend(Ipam ipam, PodKinds podKinds, PodClaims podClaims, String node, AllocationTimer timer) {
        this.timer = timer;
        this.ipam = ipam;
        this.podKinds = podKinds;
        this.podClaims = podClaims;
        this.node = node;
    }

    private String key(String network, Attachment attachment) {
        return new CniAttachmentKey(node, network, attachment.containerId(), attachment.ifname()).text();
    }

    @Override
    public CompletionStage<Reservation> reserve(ReserveRequest request) {
        return refusalsMapped(() -> timer.time(AllocationTimer.Path.CNI, () ->
                podClaims.confirm(request.pod(), true).thenCompose(confirmed -> {
                    Owner owner = owner(request.attachment(), request.pod());
                    AllocationRequest allocation = new AllocationRequest(owner, request.requestedIps(), List.of());
                    return ipam.reserve(request.pool(), allocation, key(request.network(), request.attachment()))
                            .thenApply(made -> new Reservation(request.pool(), made.reservationId(),
                                    request.attachment(), addressing(made.addresses(), made.routes())));
                })));
    }

    @Override
    public CompletionStage<Lease> commit(Reservation reservation) {
        return refusalsMapped(() -> ipam.commit(reservation.pool(), reservation.id()).thenApply(lease ->
                new Lease(reservation.pool(), reservation.attachment(),
                        new Addressing(assigned(lease.addresses()), reservation.addressing().routes()))));
    }

    @Override
    public CompletionStage<Void> release(ReleaseRequest request) {
        return refusalsMapped(() -> podClaims.confirm(request.pod(), false).thenCompose(confirmed ->
                ipam.release(request.pool(), owner(request.attachment(), request.pod()), ReleaseMode.KEEP_FIXED,
                        key(request.network(), request.attachment()))).<Void>thenApply(result -> null)
                .exceptionallyCompose(failure -> unwrap(failure) instanceof IpamException e
                        && e.error() == IpamError.UNKNOWN_POOL
                        ? CompletableFuture.completedFuture(null) // nothing can be held in a pool that is not there
                        : CompletableFuture.failedFuture(failure)));
    }

    @Override
    public CompletionStage<Optional<Lease>> check(CheckRequest request) {
        return refusalsMapped(() -> podClaims.confirm(request.pod(), true).thenCompose(confirmed -> {
            Owner owner = owner(request.attachment(), request.pod());
            return ipam.leases(request.pool()).thenApply(leases -> leases.stream()
                    .filter(lease -> lease.owner().identity().equals(owner.identity()))
                    .filter(lease -> lease.state() == io.isthmus.api.ipam.LeaseState.ACTIVE)
                    // another container's lease is not this attachment's: CHECK answers "no lease"
                    .filter(lease -> lease.attachment().isEmpty() || CniAttachmentKey.sameContainer(
                            lease.attachment(), key(request.network(), request.attachment())))
                    .findFirst()
                    .map(lease -> new Lease(request.pool(), request.attachment(),
                            new Addressing(assigned(lease.addresses()), List.of()))));
        }));
    }

    @Override
    public CompletionStage<GcResult> gc(GcRequest request) {
        return refusalsMapped(() -> ipam.leases(request.pool()).thenCompose(leases -> {
            List<CompletableFuture<Attachment>> freed = new java.util.ArrayList<>();
            for (io.isthmus.api.ipam.Lease lease : leases) {
                Optional<CniAttachmentKey> key = CniAttachmentKey.parse(lease.attachment());
                // Committed leases only: a reservation is an ADD still running, which the runtime may not list yet.
                if (lease.state() != io.isthmus.api.ipam.LeaseState.ACTIVE || key.isEmpty()
                        || !key.get().node().equals(node) || !key.get().network().equals(request.network())) {
                    continue;
                }
                Attachment attachment = new Attachment(key.get().containerId(), key.get().ifname());
                if (!request.valid().contains(attachment)) {
                    freed.add(ipam.release(request.pool(), lease.owner(), ReleaseMode.KEEP_FIXED, lease.attachment())
                            .toCompletableFuture().thenApply(released -> attachment));
                }
            }
            return CompletableFuture.allOf(freed.toArray(CompletableFuture[]::new))
                    .thenApply(done -> new GcResult(freed.stream().map(CompletableFuture::join).toList()));
        }));
    }

    private Owner owner(Attachment attachment, Optional<PodIdentity> pod) {
        if (pod.isPresent()) {
            PodIdentity identity = pod.get();
            return new Owner(ipam.cluster(), identity.namespace(), podKinds.kindOf(identity.namespace(), identity.name()),
                    identity.name(), identity.uid());
        }
        return new Owner(ipam.cluster(), NO_POD_NAMESPACE, OwnerKind.POD,
                attachment.containerId().toLowerCase(Locale.ROOT), "");
    }

    private static Addressing addressing(List<LeasedAddress> addresses, List<io.isthmus.api.ipam.Route> routes) {
        return new Addressing(assigned(addresses), routes.stream().map(r -> new Route(r.destination(), r.via())).toList());
    }

    private static List<AssignedIp> assigned(List<LeasedAddress> addresses) {
        return addresses.stream().map(a -> new AssignedIp(a.address(), a.network().prefix(), a.gateway())).toList();
    }

    /** Runs {@code call}, turning IPAM refusals (thrown or failing the stage) into the CNI backend's. */
    private static <T> CompletionStage<T> refusalsMapped(Supplier<CompletionStage<T>> call) {
        CompletionStage<T> stage;
        try {
            stage = call.get();
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        return stage.exceptionallyCompose(failure -> CompletableFuture.failedFuture(mapped(unwrap(failure))));
    }

    private static Throwable unwrap(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    private static Throwable mapped(Throwable cause) {
        return switch (cause) {
            case CniBackendException already -> already;
            case InvalidFieldException invalid -> new CniBackendException(CniBackendError.BAD_REQUEST, invalid.getMessage());
            case IpamException refusal -> new CniBackendException(switch (refusal.error()) {
                case POOL_EXHAUSTED -> CniBackendError.POOL_EXHAUSTED;
                case UNKNOWN_POOL -> CniBackendError.UNKNOWN_POOL;
                case ADDRESS_IN_USE -> CniBackendError.ADDRESS_IN_USE;
                case NOT_OWNER -> CniBackendError.NOT_OWNER;
                case UNKNOWN_RESERVATION -> CniBackendError.RESERVATION_EXPIRED;
                case UNAVAILABLE -> CniBackendError.UNAVAILABLE;
                case INVALID_INPUT, POOL_EXISTS, POOL_OVERLAPS, OUTSIDE_SEGMENTS, POOL_IN_USE -> CniBackendError.BAD_REQUEST;
            }, refusal.getMessage());
            default -> cause;
        };
    }
}
