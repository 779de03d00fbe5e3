package io.isthmus.ipam.cni;

import io.isthmus.api.Cidr;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The port through which the CNI endpoint reaches the address pools. The gateway implements it over the sharded
 * pool entities; tests implement it in memory.
 *
 * <p>Every method completes its stage exceptionally with a {@link CniBackendException} for a refusal the caller
 * should see (its {@link CniBackendError} becomes the CNI error code); any other failure (an ask timeout, a lost
 * shard) is reported to the container runtime as {@link CniBackendError#UNAVAILABLE} ("try again later").
 *
 * <p>Allocation is reserve-then-commit: {@link #reserve} picks addresses and holds them for a short time, without
 * needing to be durable; {@link #commit} turns the reservation into a lease and completes only once that lease is
 * durable. A reservation that is never committed (the plugin died, the runtime timed out) must expire in the
 * backend by itself.
 */
public interface CniBackend {

    /**
     * Reserves addresses for one attachment in the pool {@link ReserveRequest#pool()}. Where the owner has a fixed
     * address (a StatefulSet pod, a VM) or asks for specific ones ({@link ReserveRequest#requestedIps()}), those are
     * reserved. A second reserve for an attachment that already holds a lease or a live reservation returns the
     * same addresses.
     */
    CompletionStage<Reservation> reserve(ReserveRequest request);

    /** Makes the reservation a lease; completes once the lease is durable. */
    CompletionStage<Lease> commit(Reservation reservation);

    /**
     * Frees whatever the attachment holds in the pool (lease or reservation). Idempotent: an attachment that holds
     * nothing completes normally, so a repeated CNI DEL succeeds.
     */
    CompletionStage<Void> release(ReleaseRequest request);

    /** The lease the attachment holds in the pool, or empty when it holds none. */
    CompletionStage<Optional<Lease>> check(CheckRequest request);

    /**
     * CNI GC: frees every lease in the pool that this node's endpoint made for {@link GcRequest#network()} and whose
     * attachment is not in {@link GcRequest#valid()}, as a DEL would (a fixed-IP owner's address stays parked for
     * it). Leases of other nodes or networks, leases made through the API, and leases from before nodes were
     * recorded are left alone. Completes once every release is durable.
     */
    CompletionStage<GcResult> gc(GcRequest request);

    /** One CNI attachment: a container's interface ({@code CNI_CONTAINERID}, {@code CNI_IFNAME}). */
    record Attachment(String containerId, String ifname) {
        public Attachment {
            requireText("containerId", containerId);
            requireText("ifname", ifname);
        }
    }

    /**
     * The Kubernetes pod that owns an attachment, from {@code CNI_ARGS} ({@code K8S_POD_NAMESPACE},
     * {@code K8S_POD_NAME}, {@code K8S_POD_UID}). Namespace and name are the stable identity (a StatefulSet pod keeps
     * them across restarts, so the backend can give it its fixed address back); the uid changes with every
     * incarnation and may be empty when the runtime does not pass it.
     */
    record PodIdentity(String namespace, String name, String uid) {
        public PodIdentity {
            requireText("namespace", namespace);
            requireText("name", name);
            Objects.requireNonNull(uid, "uid");
        }
    }

    /**
     * Reserve addresses in {@code pool} for {@code attachment}. {@code network} is the CNI network name (for logs
     * and lease listings); {@code pod} is empty outside Kubernetes; {@code requestedIps} are static addresses the
     * runtime asked for (empty: the backend chooses); {@code vfFrom} names the SR-IOV physical function (its netdev
     * on the node) whose VF pool the attachment also takes a VF from (empty: no VF).
     */
    record ReserveRequest(String pool, String network, Attachment attachment, Optional<PodIdentity> pod,
                          List<InetAddress> requestedIps, Optional<String> vfFrom) {
        public ReserveRequest {
            requireText("pool", pool);
            Objects.requireNonNull(network, "network");
            Objects.requireNonNull(attachment, "attachment");
            Objects.requireNonNull(pod, "pod");
            requestedIps = List.copyOf(requestedIps);
            Objects.requireNonNull(vfFrom, "vfFrom");
        }

        /** Addresses only, no VF. */
        public ReserveRequest(String pool, String network, Attachment attachment, Optional<PodIdentity> pod,
                              List<InetAddress> requestedIps) {
            this(pool, network, attachment, pod, requestedIps, Optional.empty());
        }
    }

    /**
     * An SR-IOV virtual function an attachment holds besides its addresses ({@code ipam.sriov.pf} asked for one):
     * VF {@code index} of the physical function {@code pf} (its netdev on the node), with the VF's PCI address and,
     * where the node shows them, its netdev and MAC before the main plugin moves it into the pod.
     */
    record Vf(String pf, int index, String pciAddress, Optional<String> netdev, Optional<String> mac) {
        public Vf {
            requireText("pf", pf);
            if (index < 0) {
                throw new IllegalArgumentException("VF index " + index + " is negative");
            }
            requireText("pciAddress", pciAddress);
            Objects.requireNonNull(netdev, "netdev");
            Objects.requireNonNull(mac, "mac");
        }
    }

    /**
     * Addresses (and, when asked for, a VF) held for an attachment until committed or expired; {@code id} is the
     * backend's handle.
     */
    record Reservation(String pool, String id, Attachment attachment, Addressing addressing, Optional<Vf> vf) {
        public Reservation {
            requireText("pool", pool);
            requireText("id", id);
            Objects.requireNonNull(attachment, "attachment");
            Objects.requireNonNull(addressing, "addressing");
            Objects.requireNonNull(vf, "vf");
        }

        public Reservation(String pool, String id, Attachment attachment, Addressing addressing) {
            this(pool, id, attachment, addressing, Optional.empty());
        }

        public Reservation withVf(Vf held) {
            return new Reservation(pool, id, attachment, addressing, Optional.of(held));
        }
    }

    /** A durable allocation: the addresses the attachment holds in the pool, and the VF it holds if it asked. */
    record Lease(String pool, Attachment attachment, Addressing addressing, Optional<Vf> vf) {
        public Lease {
            requireText("pool", pool);
            Objects.requireNonNull(attachment, "attachment");
            Objects.requireNonNull(addressing, "addressing");
            Objects.requireNonNull(vf, "vf");
        }

        public Lease(String pool, Attachment attachment, Addressing addressing) {
            this(pool, attachment, addressing, Optional.empty());
        }

        public Lease withVf(Vf held) {
            return new Lease(pool, attachment, addressing, Optional.of(held));
        }
    }

    /** Free what {@code attachment} holds in {@code pool}; {@code pod} (when known) lets the backend check the owner. */
    record ReleaseRequest(String pool, String network, Attachment attachment, Optional<PodIdentity> pod) {
        public ReleaseRequest {
            requireText("pool", pool);
            Objects.requireNonNull(network, "network");
            Objects.requireNonNull(attachment, "attachment");
            Objects.requireNonNull(pod, "pod");
        }
    }

    /** Look up the lease of {@code attachment} in {@code pool}. */
    /** GC of {@code network}'s leases in {@code pool}: {@code valid} are the attachments the runtime still has. */
    record GcRequest(String pool, String network, java.util.Set<Attachment> valid) {
        public GcRequest {
            requireText("pool", pool);
            requireText("network", network);
            valid = java.util.Set.copyOf(valid);
        }
    }

    /** What a GC freed. */
    record GcResult(List<Attachment> freed) {
        public GcResult {
            freed = List.copyOf(freed);
        }
    }

    record CheckRequest(String pool, String network, Attachment attachment, Optional<PodIdentity> pod) {
        public CheckRequest {
            requireText("pool", pool);
            Objects.requireNonNull(network, "network");
            Objects.requireNonNull(attachment, "attachment");
            Objects.requireNonNull(pod, "pod");
        }
    }

    /** What the interface gets: one address per family (dual stack: two), and the pool's routes. */
    record Addressing(List<AssignedIp> ips, List<Route> routes) {
        public Addressing {
            ips = List.copyOf(ips);
            routes = List.copyOf(routes);
            if (ips.isEmpty()) {
                throw new IllegalArgumentException("an addressing needs at least one address");
            }
        }
    }

    /** One address with the prefix length of its subnet ({@code 10.1.0.5} and 24) and the subnet's gateway. */
    record AssignedIp(InetAddress address, int prefixLength, Optional<InetAddress> gateway) {
        public AssignedIp {
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(gateway, "gateway");
            int bits = address.getAddress().length * 8;
            if (prefixLength < 0 || prefixLength > bits) {
                throw new IllegalArgumentException("prefix length " + prefixLength + " out of 0.." + bits);
            }
            if (gateway.isPresent() && gateway.get().getAddress().length != address.getAddress().length) {
                throw new IllegalArgumentException("gateway " + gateway.get().getHostAddress()
                        + " is not of the family of " + address.getHostAddress());
            }
        }
    }

    /** A route to install in the pod: destination and (optional) next hop. */
    record Route(Cidr destination, Optional<InetAddress> gateway) {
        public Route {
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(gateway, "gateway");
        }
    }

    private static void requireText(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(field + " must not be empty");
        }
    }
}
