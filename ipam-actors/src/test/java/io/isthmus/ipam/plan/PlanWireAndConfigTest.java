package io.isthmus.ipam.plan;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.plan.PlanEnvelope;
import io.isthmus.ipam.plan.PlanMessage.BlockerStatus;
import io.isthmus.ipam.plan.PlanMessage.ClaimAnswer;
import io.isthmus.ipam.plan.PlanMessage.ContestClaim;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;
import io.isthmus.ipam.plan.PlanMessage.ProposeClaim;
import io.isthmus.ipam.plan.PlanMessage.Refusal;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static io.isthmus.ipam.plan.PlanLedgerTest.assertField;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PlanWireAndConfigTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final Claim CLAIM = Claim.of(new ClaimId(EAST, 4), SegmentKind.POD, Cidr.parse("t", "fd00:10:0:2::/64"), 1_700_000_000_123L);

    @Test
    void everyMessageSurvivesTheWire() throws Exception {
        List<PlanMessage> messages = List.of(
                new ProposeClaim(CLAIM, List.of(EAST, WEST)),
                ClaimAnswer.acknowledged(CLAIM, WEST),
                ClaimAnswer.acknowledged(CLAIM, WEST).signedWith(new AckSignature(WEST, "c2lnbmF0dXJl", "Y2VydA==")),
                ClaimAnswer.refused(CLAIM.id(), WEST, Refusal.CONFLICT, "overlaps", CLAIM, BlockerStatus.REGISTERED),
                ClaimAnswer.refused(CLAIM.id(), WEST, Refusal.MEMBERS_DIFFER, "differ", null, null),
                new ContestClaim(new ClaimId(WEST, 9), CLAIM),
                new LedgerSnapshot(WEST, List.of(new ClusterView(EAST, 12, 4, List.of(CLAIM), List.of(),
                        List.of(new Registration(SegmentKind.SERVICE, "10.96.0.0/12")),
                        List.of(new AckSignature.HeldEvidence(CLAIM.id(), List.of(new AckSignature(WEST, "c2ln", "Y2VydA=="))))),
                        ClusterView.empty(WEST))));
        for (PlanMessage message : messages) {
            byte[] bytes = PlanWire.toProto(message).toByteArray();
            assertEquals(message, PlanWire.fromProto(PlanEnvelope.parseFrom(bytes)));
        }
    }

    @Test
    void aBrokenPeerMessageIsRefusedNamingTheField() {
        PlanEnvelope badCidr = PlanWire.toProto(new ProposeClaim(CLAIM, List.of(EAST))).toBuilder()
                .setPropose(PlanWire.toProto(new ProposeClaim(CLAIM, List.of(EAST))).getPropose().toBuilder()
                        .setClaim(PlanWire.toProto(new ProposeClaim(CLAIM, List.of(EAST))).getPropose().getClaim().toBuilder()
                                .setCidr("10.0.0.1/24")))
                .build();
        assertField("cidr", "10.0.0.1/24", () -> PlanWire.fromProto(badCidr));
        PlanEnvelope badKind = PlanWire.toProto(new ContestClaim(CLAIM.id(), CLAIM)).toBuilder()
                .setContest(PlanWire.toProto(new ContestClaim(CLAIM.id(), CLAIM)).getContest().toBuilder()
                        .setEarlier(PlanWire.toProto(new ContestClaim(CLAIM.id(), CLAIM)).getContest().getEarlier().toBuilder().setKind("vlan")))
                .build();
        assertField("kind", "vlan", () -> PlanWire.fromProto(badKind));
        PlanEnvelope badSender = PlanEnvelope.newBuilder().setSnapshot(
                io.isthmus.api.grpc.plan.LedgerSnapshot.newBuilder().setSender("East_1")).build();
        assertField("sender", "East_1", () -> PlanWire.fromProto(badSender));
        assertThrows(InvalidFieldException.class, () -> PlanWire.fromProto(PlanEnvelope.getDefaultInstance()));
    }

    @Test
    void theConfigSectionIsRead() {
        PlanConfig config = PlanConfig.fromConfig(EAST, ConfigFactory.parseString("""
                members = [east, west, edge]
                supernets {
                  pod = [{cidr = "10.128.0.0/9", segment-prefix = 16}, {cidr = "fd00:10::/32", segment-prefix = 48}]
                  global = [{cidr = "100.64.0.0/10", segment-prefix = 20}]
                }
                claim-timeout = 4s
                """));
        assertEquals(3, config.members().size());
        assertEquals(2, config.quorum());
        assertEquals(List.of(WEST.value(), "edge").stream().sorted().toList(), config.peers().stream().map(ClusterId::value).sorted().toList());
        assertEquals(new Supernet(Cidr.parse("t", "fd00:10::/32"), 48), config.supernets(SegmentKind.POD).get(1));
        assertEquals(Duration.ofSeconds(4), config.claimTimeout());
        assertEquals(PlanConfig.DEFAULT_RETRANSMIT_INTERVAL, config.retransmitInterval());
        assertEquals(List.of(), config.supernets(SegmentKind.UNDERLAY));
    }

    @Test
    void badConfigNamesThePathAndTheValue() {
        assertField("plan.supernets", "vlan", () -> PlanConfig.fromConfig(EAST, ConfigFactory.parseString(
                "members = [east], supernets { vlan = [{cidr = \"10.0.0.0/8\", segment-prefix = 16}] }")));
        assertField("plan.supernets.pod[0].segment-prefix", "4", () -> PlanConfig.fromConfig(EAST, ConfigFactory.parseString(
                "members = [east], supernets { pod = [{cidr = \"10.0.0.0/8\", segment-prefix = 4}] }")));
        assertField("plan.supernets.pod[0].cidr", "10.0.0.0/33", () -> PlanConfig.fromConfig(EAST, ConfigFactory.parseString(
                "members = [east], supernets { pod = [{cidr = \"10.0.0.0/33\", segment-prefix = 16}] }")));
        assertField("plan.supernets.pod[0].segment-prefix", "sixteen", () -> PlanConfig.fromConfig(EAST, ConfigFactory.parseString(
                "members = [east], supernets { pod = [{cidr = \"10.0.0.0/8\", segment-prefix = sixteen}] }")));
        assertField("plan.supernets", "10.1.0.0/16", () -> PlanConfig.fromConfig(EAST, ConfigFactory.parseString(
                "members = [east], supernets { pod = [{cidr = \"10.0.0.0/8\", segment-prefix = 16}], service = [{cidr = \"10.1.0.0/16\", segment-prefix = 20}] }")));
        assertField("plan.members", "[west]", () -> PlanConfig.fromConfig(EAST, ConfigFactory.parseString("members = [west]")));
        assertField("plan.members", "West_1", () -> PlanConfig.fromConfig(EAST, ConfigFactory.parseString("members = [east, West_1]")));
        assertField("plan.claim-timeout", "soon", () -> PlanConfig.fromConfig(EAST, ConfigFactory.parseString("members = [east], claim-timeout = soon")));
    }
}
