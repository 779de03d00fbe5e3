package io.isthmus.gateway.ipam;

import io.isthmus.ipam.cni.CniBackend;
import io.isthmus.ipam.cni.CniBackendError;
import io.isthmus.ipam.cni.CniBackendException;
import io.isthmus.ipam.cni.CniBackend.Vf;

import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The CNI backend with SR-IOV VFs: an attachment whose config names a physical function ({@code ipam.sriov.pf})
 * gets a VF of that PF's pool ({@link VfPools}) together with its addresses, and gives it back with them. Calls
 * without it pass straight to the address backend.
 *
 * <p>Order: the VF is reserved before the addresses (a VF pool that is exhausted or a PF that does not exist
 * refuses the ADD before any address is held), and dropped again if the addresses cannot be reserved; it is
 * committed once the lease is durable, and freed once the lease is released (a DEL the address backend refuses,
 * e.g. from another container, frees no VF either).
 */
public final class VfCniBackend implements CniBackend {
    private final CniBackend addresses;
    private final VfPools vfs;

    public VfCniBackend(CniBackend addresses, VfPools vfs) {
        this.addresses = addresses;
        this.vfs = vfs;
    }

    @Override
    public CompletionStage<Reservation> reserve(ReserveRequest request) {
        if (request.vfFrom().isEmpty()) {
            return addresses.reserve(request);
        }
        Vf vf;
        try {
            vf = vfs.reserve(request.vfFrom().get(), request.attachment());
        } catch (CniBackendException refused) {
            return CompletableFuture.failedFuture(refused);
        }
        return addresses.reserve(request).handle((reservation, failure) -> {
            if (failure != null) {
                vfs.cancel(request.attachment());
                throw failure instanceof RuntimeException e ? e : new java.util.concurrent.CompletionException(failure);
            }
            return reservation.withVf(vf);
        });
    }

    @Override
    public CompletionStage<Lease> commit(Reservation reservation) {
        if (reservation.vf().isEmpty()) {
            return addresses.commit(reservation);
        }
        String pf = reservation.vf().get().pf();
        return addresses.commit(reservation).thenApply(lease -> lease.withVf(vfs.commit(pf, reservation.attachment())));
    }

    @Override
    public CompletionStage<Void> release(ReleaseRequest request) {
        return addresses.release(request).thenApply(released -> {
            try {
                vfs.release(request.attachment());
            } catch (IOException e) {
                throw new CniBackendException(CniBackendError.UNAVAILABLE, "the lease is released, but freeing the VF"
                        + " of " + request.attachment().containerId() + " failed: " + e.getMessage() + "; retry the DEL");
            }
            return null;
        });
    }

    @Override
    public CompletionStage<GcResult> gc(GcRequest request) {
        return addresses.gc(request).thenApply(result -> {
            for (Attachment freed : result.freed()) {
                try {
                    vfs.release(freed);
                } catch (IOException e) {
                    throw new CniBackendException(CniBackendError.UNAVAILABLE, "the lease of " + freed.containerId()
                            + " is freed, but freeing its VF failed: " + e.getMessage() + "; retry the GC");
                }
            }
            return result;
        });
    }

    @Override
    public CompletionStage<Optional<Lease>> check(CheckRequest request) {
        return addresses.check(request).thenApply(lease -> lease.map(held ->
                vfs.heldBy(request.attachment()).map(held::withVf).orElse(held)));
    }
}
