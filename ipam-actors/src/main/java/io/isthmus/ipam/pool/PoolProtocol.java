package io.isthmus.ipam.pool;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.PoolStatus;
import io.isthmus.api.ipam.ReclaimRecord;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.api.ipam.ReleaseResult;
import io.isthmus.api.ipam.Reservation;
import io.isthmus.ipam.IpamSerializable;
import org.apache.pekko.actor.typed.ActorRef;

import java.time.Instant;
import java.util.List;

/**
 * The requests a pool executes (each goes into a group-committed batch, in arrival order) and its replies. Every
 * reply is sent only after the batch it was in is durable in the journal.
 */
public final class PoolProtocol {
    private PoolProtocol() {
    }

    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME)
    @JsonSubTypes({
            @JsonSubTypes.Type(value = Reserve.class, name = "reserve"),
            @JsonSubTypes.Type(value = Commit.class, name = "commit"),
            @JsonSubTypes.Type(value = Allocate.class, name = "allocate"),
            @JsonSubTypes.Type(value = Release.class, name = "release"),
            @JsonSubTypes.Type(value = GetLeases.class, name = "leases"),
            @JsonSubTypes.Type(value = GetStatus.class, name = "status"),
            @JsonSubTypes.Type(value = GetReclaims.class, name = "reclaims"),
            @JsonSubTypes.Type(value = GetHolder.class, name = "holder"),
            @JsonSubTypes.Type(value = ExpireReservations.class, name = "expire"),
            @JsonSubTypes.Type(value = SurveyOwners.class, name = "survey"),
            @JsonSubTypes.Type(value = Reclaim.class, name = "reclaim"),
            @JsonSubTypes.Type(value = Retire.class, name = "retire")})
    public sealed interface Request extends PoolEntity.Command {
        ActorRef<Reply> replyTo();
    }

    /**
     * Holds addresses for the owner until commit or expiry, bound to the CNI container {@code attachment} ("" for
     * none). Refused (NOT_OWNER) while another container of the same incarnation holds the owner's addresses.
     */
    public record Reserve(AllocationRequest request, String attachment, ActorRef<Reply> replyTo) implements Request {
        public Reserve {
            attachment = attachment == null ? "" : attachment;
        }
    }

    public record Commit(String reservationId, ActorRef<Reply> replyTo) implements Request {
    }

    /** Reserve and commit in one step. */
    public record Allocate(AllocationRequest request, ActorRef<Reply> replyTo) implements Request {
    }

    /** {@code attachment}: the CNI container asking ("" for an API caller); another container's lease is refused. */
    public record Release(Owner owner, ReleaseMode mode, String attachment, ActorRef<Reply> replyTo) implements Request {
        public Release {
            attachment = attachment == null ? "" : attachment;
        }
    }

    public record GetLeases(ActorRef<Reply> replyTo) implements Request {
    }

    public record GetStatus(ActorRef<Reply> replyTo) implements Request {
    }

    public record GetReclaims(ActorRef<Reply> replyTo) implements Request {
    }

    /** Who holds {@code address} (reserved, active or parked): replies {@link HolderFound}. */
    public record GetHolder(java.net.InetAddress address, ActorRef<Reply> replyTo) implements Request {
    }

    /** Internal: expire the reservations that are past due. */
    public record ExpireReservations(ActorRef<Reply> replyTo) implements Request {
    }

    /** Internal: the owners of active and parked leases, for the reclaimer. */
    public record SurveyOwners(ActorRef<Reply> replyTo) implements Request {
    }

    /** Internal: take back the leases of gone owners; an order whose lease changed since the survey is skipped. */
    public record Reclaim(List<ReclaimOrder> orders, String reason, ActorRef<Reply> replyTo) implements Request {
    }

    /**
     * Ends the pool (the first step of deleting it): refused with POOL_IN_USE while it holds leases, unless
     * {@code force}, which releases them all in the same journal write. Replies {@link Retired}; again on a retired
     * pool, {@code Retired} with nothing drained.
     */
    public record Retire(boolean force, ActorRef<Reply> replyTo) implements Request {
    }

    public record ReclaimOrder(String identity, String uid, Instant since) implements IpamSerializable {
    }

    public record SurveyEntry(Owner owner, LeaseState state, Instant since) implements IpamSerializable {
    }

    public sealed interface Reply extends IpamSerializable {
    }

    public record ReservationMade(Reservation reservation) implements Reply {
    }

    public record LeaseGranted(Lease lease) implements Reply {
    }

    public record ReleaseDone(ReleaseResult result) implements Reply {
    }

    public record LeaseList(List<Lease> leases) implements Reply {
    }

    public record StatusReport(PoolStatus status) implements Reply {
    }

    /** The lease holding the address asked about; empty when no owner holds it. */
    public record HolderFound(List<Lease> lease) implements Reply {
    }

    /** The address of the replica (Pekko cluster member) that runs the pool. */
    public record Located(String replica) implements Reply {
    }

    public record ReclaimList(List<ReclaimRecord> reclaims) implements Reply {
    }

    /**
     * The pool's journal ended; {@code incarnation} is the one retired (the directory removes only that one). The
     * leases the deletion released: {@code active}, {@code parked} fixed IPs, {@code reserved}.
     */
    public record Retired(String pool, long incarnation, int active, int parked, int reserved) implements Reply {
        public int drained() {
            return active + parked + reserved;
        }
    }

    public record ExpiredCount(int count) implements Reply {
    }

    public record OwnerSurvey(List<SurveyEntry> entries) implements Reply {
    }

    public record Failed(IpamError error, String message, String field, String value) implements Reply {
        public static Failed of(IpamException e) {
            return new Failed(e.error(), e.getMessage(), e.field(), e.value());
        }

        public IpamException toException() {
            return new IpamException(error, message, field, value);
        }
    }
}
