package io.isthmus.gateway.policy;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.policy.PolicySync;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.PeerChannels;
import io.isthmus.policy.PolicyBook;
import io.isthmus.policy.PolicyCodec;
import io.isthmus.policy.PolicyEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * The policies over peering ({@code PeerMessage.policy}): a peer that connects gets the whole book; every entry that
 * wins here afterwards (written here, or learnt from a peer) goes to every connected peer, with this book's version,
 * which is how each peer learns the version the others hold. Only changes are sent, so the flood ends once every
 * cluster holds the same book. Entries are checked as any input (a policy that does not read is refused and
 * counted; the others of the message still count), and each must carry its origin's seal ({@link PolicySeals}):
 * an entry that does not is refused and counted ({@code reason="unsealed"}).
 */
public final class PolicyExchange {
    private static final Logger log = LoggerFactory.getLogger(PolicyExchange.class);
    /** Entries per message: a large book goes in several, each far below the peering message limit. */
    static final int ENTRIES_PER_MESSAGE = 64;

    private final PolicyStore store;
    private final PeerChannels channels;
    private final PolicySeals seals;
    private final Metrics.Counter refused;
    private final Metrics.Counter received;

    private PolicyExchange(PolicyStore store, PeerChannels channels, PolicySeals seals, Metrics metrics) {
        this.store = store;
        this.channels = channels;
        this.seals = seals;
        this.refused = metrics.counter("isthmus_policy_entries_refused_total",
                "Policy entries from peers that were refused, by peer and reason.", "peer", "reason");
        this.received = metrics.counter("isthmus_policy_entries_received_total",
                "Policy entries received from peers, by peer.", "peer");
    }

    public static PolicyExchange start(PolicyStore store, PeerChannels channels, PolicySeals seals, Metrics metrics) {
        PolicyExchange exchange = new PolicyExchange(store, channels, seals, metrics);
        channels.handle(PeerMessage.KindCase.POLICY, (from, message) -> exchange.received(from, message.getPolicy()));
        channels.whenConnected(exchange::sendBook);
        store.whenChanged(entries -> exchange.broadcast(entries));
        return exchange;
    }

    private void sendBook(ClusterId peer) {
        PolicyBook book = store.book();
        for (PolicySync sync : messages(List.copyOf(book.entries().values()), book.version())) {
            channels.send(peer, PeerMessage.newBuilder().setPolicy(sync).build());
        }
    }

    private void broadcast(List<PolicyEntry> entries) {
        String version = store.book().version();
        for (ClusterId peer : channels.connected()) {
            for (PolicySync sync : messages(entries, version)) {
                channels.send(peer, PeerMessage.newBuilder().setPolicy(sync).build());
            }
        }
    }

    /** At least one message (an empty book still reports its version). */
    static List<PolicySync> messages(List<PolicyEntry> entries, String version) {
        List<PolicySync> out = new ArrayList<>();
        for (int from = 0; from < Math.max(1, entries.size()); from += ENTRIES_PER_MESSAGE) {
            PolicySync.Builder sync = PolicySync.newBuilder().setBookVersion(version);
            for (PolicyEntry entry : entries.subList(Math.min(from, entries.size()),
                    Math.min(from + ENTRIES_PER_MESSAGE, entries.size()))) {
                io.isthmus.api.grpc.policy.PolicyEntry.Builder wire = io.isthmus.api.grpc.policy.PolicyEntry.newBuilder()
                        .setName(entry.name()).setPolicyJson(entry.policy().map(PolicyCodec::canonicalJson).orElse(""))
                        .setRevision(entry.revision()).setOriginCluster(entry.origin().value());
                entry.seal().ifPresent(seal -> wire
                        .setSignature(ByteString.copyFrom(Base64.getDecoder().decode(seal.signature())))
                        .setCertificate(ByteString.copyFrom(Base64.getDecoder().decode(seal.certificate()))));
                sync.addEntries(wire);
            }
            out.add(sync.build());
        }
        return out;
    }

    void received(ClusterId from, PolicySync sync) {
        List<PolicyEntry> entries = new ArrayList<>();
        for (io.isthmus.api.grpc.policy.PolicyEntry wire : sync.getEntriesList()) {
            received.inc(from.value());
            PolicyEntry entry;
            try {
                entry = entry(wire);
            } catch (InvalidFieldException e) {
                refused.inc(from.value(), "invalid");
                log.warn("policy: refused entry {} from {}: {}", wire.getName(), from, e.getMessage());
                continue;
            }
            Optional<String> unsealed = seals.whyNotSealed(entry);
            if (unsealed.isPresent()) {
                refused.inc(from.value(), "unsealed");
                log.warn("policy: refused entry {} revision {} from {}: {}", entry.name(), entry.revision(), from,
                        unsealed.get());
                continue;
            }
            entries.add(entry);
        }
        store.merge(entries, entry -> {
            refused.inc(from.value(), "max-policies");
            log.warn("policy: refused {} from {}: isthmus.policy.max-policies reached", entry.name(), from);
        });
        store.peerReported(from, sync.getBookVersion());
    }

    private static PolicyEntry entry(io.isthmus.api.grpc.policy.PolicyEntry wire) {
        ClusterId origin;
        try {
            origin = ClusterId.of(wire.getOriginCluster());
        } catch (InvalidFieldException e) {
            throw e.as("policy-entry.origin_cluster");
        }
        Optional<PolicyEntry.Seal> seal = wire.getSignature().isEmpty() ? Optional.empty()
                : Optional.of(new PolicyEntry.Seal(Base64.getEncoder().encodeToString(wire.getSignature().toByteArray()),
                        Base64.getEncoder().encodeToString(wire.getCertificate().toByteArray())));
        return new PolicyEntry(wire.getName(), wire.getPolicyJson().isEmpty() ? Optional.empty()
                : Optional.of(PolicyCodec.readOne(wire.getPolicyJson())), wire.getRevision(), origin, seal);
    }
}
