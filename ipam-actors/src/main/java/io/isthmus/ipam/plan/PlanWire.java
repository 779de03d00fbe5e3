package io.isthmus.ipam.plan;

import com.google.protobuf.ByteString;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.plan.PlanEnvelope;
import io.isthmus.ipam.plan.PlanMessage.BlockerStatus;
import io.isthmus.ipam.plan.PlanMessage.ClaimAnswer;
import io.isthmus.ipam.plan.PlanMessage.ContestClaim;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;
import io.isthmus.ipam.plan.PlanMessage.ProposeClaim;
import io.isthmus.ipam.plan.PlanMessage.Refusal;

import java.util.Base64;
import java.util.List;

/**
 * {@link PlanMessage} to and from {@code isthmus.plan.v1.PlanEnvelope}, the form it has on the peering stream.
 * Reading checks everything (cluster ids, kinds, CIDRs) and throws {@link InvalidFieldException} naming the
 * field, so a broken peer's message is dropped whole.
 */
public final class PlanWire {
    private PlanWire() {
    }

    public static PlanEnvelope toProto(PlanMessage message) {
        PlanEnvelope.Builder envelope = PlanEnvelope.newBuilder();
        switch (message) {
            case ProposeClaim(Claim claim, List<ClusterId> members) -> envelope.setPropose(
                    io.isthmus.api.grpc.plan.ProposeClaim.newBuilder().setClaim(toProto(claim))
                            .addAllMembers(members.stream().map(ClusterId::value).toList()));
            case ClaimAnswer answer -> {
                io.isthmus.api.grpc.plan.ClaimAnswer.Builder out = io.isthmus.api.grpc.plan.ClaimAnswer.newBuilder()
                        .setClaim(toProto(answer.claim())).setAcceptor(answer.acceptor().value())
                        .setAcknowledged(answer.acknowledged());
                if (answer.refusal() != null) {
                    out.setRefusal(io.isthmus.api.grpc.plan.Refusal.valueOf(answer.refusal().name()));
                }
                if (answer.detail() != null) {
                    out.setDetail(answer.detail());
                }
                if (answer.blocker() != null) {
                    out.setBlocker(toProto(answer.blocker()));
                }
                if (answer.blockerStatus() != null) {
                    out.setBlockerStatus(io.isthmus.api.grpc.plan.BlockerStatus.valueOf(answer.blockerStatus().name()));
                }
                if (answer.acknowledgedClaim() != null) {
                    out.setAcknowledgedClaim(toProto(answer.acknowledgedClaim()));
                }
                if (answer.signature() != null) {
                    out.setSignature(toProto(answer.signature()));
                }
                envelope.setAnswer(out);
            }
            case ContestClaim(ClaimId contested, Claim earlier) -> envelope.setContest(
                    io.isthmus.api.grpc.plan.ContestClaim.newBuilder().setContested(toProto(contested)).setEarlier(toProto(earlier)));
            case LedgerSnapshot(ClusterId sender, List<ClusterView> views) -> envelope.setSnapshot(
                    io.isthmus.api.grpc.plan.LedgerSnapshot.newBuilder().setSender(sender.value())
                            .addAllViews(views.stream().map(PlanWire::toProto).toList()));
        }
        return envelope.build();
    }

    public static PlanMessage fromProto(PlanEnvelope envelope) {
        return switch (envelope.getKindCase()) {
            case PROPOSE -> new ProposeClaim(fromProto(envelope.getPropose().getClaim()),
                    envelope.getPropose().getMembersList().stream().map(m -> cluster("members", m)).toList());
            case ANSWER -> {
                io.isthmus.api.grpc.plan.ClaimAnswer in = envelope.getAnswer();
                yield new ClaimAnswer(fromProto(in.getClaim()), cluster("acceptor", in.getAcceptor()), in.getAcknowledged(),
                        in.getRefusal() == io.isthmus.api.grpc.plan.Refusal.REFUSAL_UNSPECIFIED ? null : refusal(in.getRefusal()),
                        in.getDetail().isEmpty() ? null : in.getDetail(),
                        in.hasBlocker() ? fromProto(in.getBlocker()) : null,
                        in.getBlockerStatus() == io.isthmus.api.grpc.plan.BlockerStatus.BLOCKER_STATUS_UNSPECIFIED
                                ? null : blockerStatus(in.getBlockerStatus()),
                        in.hasAcknowledgedClaim() ? fromProto(in.getAcknowledgedClaim()) : null,
                        in.hasSignature() ? fromProto(in.getSignature()) : null);
            }
            case CONTEST -> new ContestClaim(fromProto(envelope.getContest().getContested()),
                    fromProto(envelope.getContest().getEarlier()));
            case SNAPSHOT -> new LedgerSnapshot(cluster("sender", envelope.getSnapshot().getSender()),
                    envelope.getSnapshot().getViewsList().stream().map(PlanWire::fromProto).toList());
            case KIND_NOT_SET -> throw new InvalidFieldException("plan message", "", "carries no message (a newer peer?)");
        };
    }

    private static io.isthmus.api.grpc.plan.ClaimId toProto(ClaimId id) {
        return io.isthmus.api.grpc.plan.ClaimId.newBuilder().setClaimant(id.claimant().value()).setSeq(id.seq()).build();
    }

    private static io.isthmus.api.grpc.plan.Claim toProto(Claim claim) {
        return io.isthmus.api.grpc.plan.Claim.newBuilder().setId(toProto(claim.id())).setKind(claim.kind().label())
                .setCidr(claim.cidr()).setTimestampMillis(claim.timestamp()).build();
    }

    private static io.isthmus.api.grpc.plan.ClusterView toProto(ClusterView view) {
        return io.isthmus.api.grpc.plan.ClusterView.newBuilder().setOrigin(view.origin().value())
                .setVersion(view.version()).setHighestClaimSeq(view.highestClaimSeq())
                .addAllHeld(view.held().stream().map(PlanWire::toProto).toList())
                .addAllPending(view.pending().stream().map(PlanWire::toProto).toList())
                .addAllRegistered(view.registered().stream().map(r -> io.isthmus.api.grpc.plan.Registration.newBuilder()
                        .setKind(r.kind().label()).setCidr(r.cidr()).build()).toList())
                .addAllEvidence(view.evidence().stream().map(e -> io.isthmus.api.grpc.plan.HeldEvidence.newBuilder()
                        .setClaim(toProto(e.claim())).addAllAcks(e.acks().stream().map(PlanWire::toProto).toList())
                        .build()).toList())
                .build();
    }

    private static io.isthmus.api.grpc.plan.AckSignature toProto(AckSignature signature) {
        Base64.Decoder base64 = Base64.getDecoder();
        return io.isthmus.api.grpc.plan.AckSignature.newBuilder().setAcceptor(signature.acceptor().value())
                .setSignature(ByteString.copyFrom(base64.decode(signature.signature())))
                .setCertificate(ByteString.copyFrom(base64.decode(signature.certificate()))).build();
    }

    private static AckSignature fromProto(io.isthmus.api.grpc.plan.AckSignature signature) {
        Base64.Encoder base64 = Base64.getEncoder();
        return new AckSignature(cluster("signature.acceptor", signature.getAcceptor()),
                base64.encodeToString(signature.getSignature().toByteArray()),
                base64.encodeToString(signature.getCertificate().toByteArray()));
    }

    private static ClaimId fromProto(io.isthmus.api.grpc.plan.ClaimId id) {
        return new ClaimId(cluster("claimant", id.getClaimant()), id.getSeq());
    }

    private static Claim fromProto(io.isthmus.api.grpc.plan.Claim claim) {
        return new Claim(fromProto(claim.getId()), SegmentKind.parse("kind", claim.getKind()), claim.getCidr(),
                claim.getTimestampMillis());
    }

    private static ClusterView fromProto(io.isthmus.api.grpc.plan.ClusterView view) {
        return new ClusterView(cluster("origin", view.getOrigin()), view.getVersion(), view.getHighestClaimSeq(),
                view.getHeldList().stream().map(PlanWire::fromProto).toList(),
                view.getPendingList().stream().map(PlanWire::fromProto).toList(),
                view.getRegisteredList().stream()
                        .map(r -> new Registration(SegmentKind.parse("kind", r.getKind()), r.getCidr())).toList(),
                view.getEvidenceList().stream().map(e -> new AckSignature.HeldEvidence(fromProto(e.getClaim()),
                        e.getAcksList().stream().map(PlanWire::fromProto).toList())).toList());
    }

    private static ClusterId cluster(String field, String value) {
        try {
            return ClusterId.of(value);
        } catch (InvalidFieldException e) {
            throw e.as(field);
        }
    }

    private static Refusal refusal(io.isthmus.api.grpc.plan.Refusal refusal) {
        try {
            return Refusal.valueOf(refusal.name());
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException("refusal", refusal, "is not a refusal this version knows");
        }
    }

    private static BlockerStatus blockerStatus(io.isthmus.api.grpc.plan.BlockerStatus status) {
        try {
            return BlockerStatus.valueOf(status.name());
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException("blocker_status", status, "is not a blocker status this version knows");
        }
    }
}
