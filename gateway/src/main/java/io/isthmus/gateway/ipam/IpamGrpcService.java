package io.isthmus.gateway.ipam;

import io.grpc.Status;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.ipam.AddressPlan;
import io.isthmus.api.grpc.ipam.AddressPlanRequest;
import io.isthmus.api.grpc.ipam.AllocateRequest;
import io.isthmus.api.grpc.ipam.ClaimSegmentRequest;
import io.isthmus.api.grpc.ipam.FamilyUsage;
import io.isthmus.api.grpc.ipam.LeaseList;
import io.isthmus.api.grpc.ipam.LeasedAddress;
import io.isthmus.api.grpc.ipam.ListPoolsRequest;
import io.isthmus.api.grpc.ipam.Pool;
import io.isthmus.api.grpc.ipam.PoolList;
import io.isthmus.api.grpc.ipam.PoolRef;
import io.isthmus.api.grpc.ipam.PoolSpec;
import io.isthmus.api.grpc.ipam.Reclaim;
import io.isthmus.api.grpc.ipam.ReclaimList;
import io.isthmus.api.grpc.ipam.ReclaimRequest;
import io.isthmus.api.grpc.ipam.ReleaseReply;
import io.isthmus.api.grpc.ipam.ReleaseRequest;
import io.isthmus.api.grpc.ipam.Segment;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.PoolStatus;
import io.isthmus.api.ipam.ReclaimRecord;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.plan.Plan;
import org.apache.pekko.grpc.GrpcServiceException;

import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The gRPC face of IPAM ({@code isthmus.ipam.v1.Ipam}): requests are checked by the same parsers as the JSON API
 * ({@link IpamJson}), refusals become gRPC statuses whose description names the field and the value.
 */
public final class IpamGrpcService implements io.isthmus.api.grpc.ipam.Ipam {
    private final Ipam ipam;
    private final io.isthmus.gateway.ipam.AddressPlan plan;
    private final AllocationTimer timer;

    public IpamGrpcService(Ipam ipam, io.isthmus.gateway.ipam.AddressPlan plan) {
        this(ipam, plan, AllocationTimer.unrecorded());
    }

    public IpamGrpcService(Ipam ipam, io.isthmus.gateway.ipam.AddressPlan plan, AllocationTimer timer) {
        this.timer = timer;
        this.ipam = ipam;
        this.plan = plan;
    }

    @Override
    public CompletionStage<Pool> createPool(PoolSpec in) {
        return call(() -> ipam.createPool(IpamJson.poolSpec(in.getName(), in.getCidrsList(), in.getExcludeList(),
                        in.getReservedList(), in.getGatewaysList(), in.getRoutesList()))
                .thenCompose(spec -> ipam.pool(spec.name())).thenApply(IpamGrpcService::pool));
    }

    @Override
    public CompletionStage<PoolList> listPools(ListPoolsRequest in) {
        return call(() -> ipam.pools().thenCompose(specs -> {
            List<CompletableFuture<PoolStatus>> each = specs.stream()
                    .map(spec -> ipam.pool(spec.name()).toCompletableFuture()).toList();
            return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(done -> PoolList.newBuilder()
                    .addAllPools(each.stream().map(f -> pool(f.join())).toList()).build());
        }));
    }

    @Override
    public CompletionStage<io.isthmus.api.grpc.ipam.Lease> allocate(AllocateRequest in) {
        return call(() -> timer.time(AllocationTimer.Path.GRPC, () -> ipam.allocate(in.getPool(),
                IpamJson.allocation(owner(in.getOwner()), in.getIpsList(), in.getWithinList())))
                .thenApply(IpamGrpcService::lease));
    }

    @Override
    public CompletionStage<ReleaseReply> release(ReleaseRequest in) {
        return call(() -> ipam.release(in.getPool(), owner(in.getOwner()), in.getForget() ? ReleaseMode.FORGET
                : ReleaseMode.KEEP_FIXED).thenApply(result -> ReleaseReply.newBuilder()
                .addAllAddresses(result.addresses().stream().map(InetAddress::getHostAddress).toList())
                .setOutcome(result.outcome().name().toLowerCase(Locale.ROOT).replace('_', '-')).build()));
    }

    @Override
    public CompletionStage<LeaseList> listLeases(PoolRef in) {
        return call(() -> ipam.leases(in.getPool()).thenApply(leases -> LeaseList.newBuilder()
                .addAllLeases(leases.stream().map(IpamGrpcService::lease).toList()).build()));
    }

    @Override
    public CompletionStage<ReclaimList> reclaim(ReclaimRequest in) {
        return call(() -> (in.getNow() ? ipam.reclaimNow(in.getPool()) : ipam.reclaims(in.getPool()))
                .thenApply(list -> ReclaimList.newBuilder().addAllReclaims(list.stream().map(IpamGrpcService::reclaim)
                        .toList()).build()));
    }

    @Override
    public CompletionStage<AddressPlan> claimSegment(ClaimSegmentRequest in) {
        return call(() -> plan.claim(in.getKind(), in.getCidr()).thenCompose(granted -> plan.current())
                .thenApply(IpamGrpcService::plan));
    }

    @Override
    public CompletionStage<AddressPlan> getAddressPlan(AddressPlanRequest in) {
        return call(() -> plan.current().thenApply(IpamGrpcService::plan));
    }

    private Owner owner(io.isthmus.api.grpc.ipam.Owner in) {
        return IpamJson.owner(ipam.cluster(), in.getNamespace(), in.getKind(), in.getName(), in.getUid());
    }

    private static Pool pool(PoolStatus status) {
        var spec = status.spec();
        return Pool.newBuilder().setSpec(PoolSpec.newBuilder().setName(spec.name())
                        .addAllCidrs(spec.cidrs().stream().map(Object::toString).toList())
                        .addAllExclude(spec.exclude().stream().map(Object::toString).toList())
                        .addAllReserved(spec.reserved().stream().map(InetAddress::getHostAddress).toList())
                        .addAllGateways(spec.gateways().stream().map(InetAddress::getHostAddress).toList())
                        .addAllRoutes(spec.routes().stream().map(Object::toString).toList()))
                .addAllUsage(status.usage().stream().map(u -> FamilyUsage.newBuilder().setCidr(u.cidr().toString())
                        .setCapacity(u.capacity().toString()).setUsed(u.used()).build()).toList())
                .setActive(status.active()).setParked(status.parked()).setReservations(status.reserved())
                .setReclaimed(status.reclaimed()).build();
    }

    private static io.isthmus.api.grpc.ipam.Owner owner(Owner owner) {
        return io.isthmus.api.grpc.ipam.Owner.newBuilder().setNamespace(owner.namespace())
                .setKind(owner.kind().wireName()).setName(owner.name()).setUid(owner.uid()).build();
    }

    private static io.isthmus.api.grpc.ipam.Lease lease(Lease lease) {
        return io.isthmus.api.grpc.ipam.Lease.newBuilder().setPool(lease.pool()).setOwner(owner(lease.owner()))
                .addAllAddresses(lease.addresses().stream().map(a -> LeasedAddress.newBuilder()
                        .setAddress(a.address().getHostAddress()).setNetwork(a.network().toString())
                        .setGateway(a.gateway().map(InetAddress::getHostAddress).orElse("")).build()).toList())
                .setState(lease.state().name().toLowerCase(Locale.ROOT)).setSinceMillis(lease.since().toEpochMilli())
                .build();
    }

    private static Reclaim reclaim(ReclaimRecord record) {
        return Reclaim.newBuilder().setOwner(owner(record.owner()))
                .addAllAddresses(record.addresses().stream().map(InetAddress::getHostAddress).toList())
                .setAtMillis(record.at().toEpochMilli()).setReason(record.reason()).build();
    }

    private static AddressPlan plan(Plan plan) {
        AddressPlan.Builder out = AddressPlan.newBuilder().setCluster(plan.self().value())
                .addAllMembers(plan.members().stream().map(Object::toString).toList());
        plan.segments().forEach(s -> out.addSegments(segment(s.holder().value(), s.kind().label(), s.cidr(), "held")));
        plan.pending().forEach(c -> out.addSegments(segment(c.claimant().value(), c.kind().label(), c.cidr(), "pending")));
        plan.registered().forEach(r -> out.addSegments(segment(r.cluster().value(), r.kind().label(), r.cidr(), "registered")));
        plan.overlaps().forEach(o -> out.addOverlaps(o.describe()));
        return out.build();
    }

    private static Segment segment(String cluster, String kind, String cidr, String state) {
        return Segment.newBuilder().setCluster(cluster).setKind(kind).setCidr(cidr).setState(state).build();
    }

    /** Runs {@code work}; a refusal thrown at once or failing the stage becomes the gRPC status of its code. */
    private static <T> CompletionStage<T> call(Supplier<CompletionStage<T>> work) {
        CompletionStage<T> stage;
        try {
            stage = work.get();
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        return stage.exceptionallyCompose(failure -> CompletableFuture.failedFuture(status(failure)));
    }

    private static GrpcServiceException status(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        IpamException refusal = switch (cause) {
            case IpamException e -> e;
            case InvalidFieldException e -> IpamException.invalid(e);
            default -> new IpamException(IpamError.UNAVAILABLE, "IPAM failed: " + cause);
        };
        Status status = switch (refusal.error()) {
            case INVALID_INPUT -> Status.INVALID_ARGUMENT;
            case UNKNOWN_POOL, UNKNOWN_RESERVATION -> Status.NOT_FOUND;
            case POOL_EXISTS, POOL_OVERLAPS, ADDRESS_IN_USE -> Status.ALREADY_EXISTS;
            case OUTSIDE_SEGMENTS, POOL_IN_USE -> Status.FAILED_PRECONDITION;
            case POOL_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case NOT_OWNER -> Status.PERMISSION_DENIED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
        };
        return new GrpcServiceException(status.withDescription(refusal.getMessage()));
    }
}
