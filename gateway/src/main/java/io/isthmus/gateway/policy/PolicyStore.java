package io.isthmus.gateway.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.policy.Policy;
import io.isthmus.policy.PolicyBook;
import io.isthmus.policy.PolicyCodec;
import io.isthmus.policy.PolicyEntry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * This cluster's copy of the clusterset's policies (a {@link PolicyBook}), kept in {@code DATA_DIR/policies.json}:
 * every change is written and forced to disk before it is acknowledged or passed on, and read back at start. Changes
 * are serialized (one at a time); readers get the current book without waiting.
 */
public final class PolicyStore {
    static final String FILE = "policies.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterId self;
    private final Path file;
    private final int maxPolicies;
    private final UnaryOperator<PolicyEntry> seal;
    private volatile PolicyBook book;
    private final List<Consumer<List<PolicyEntry>>> listeners = new CopyOnWriteArrayList<>();
    private final Map<ClusterId, String> peerVersions = new ConcurrentHashMap<>();

    private PolicyStore(ClusterId self, Path file, int maxPolicies, PolicyBook book, UnaryOperator<PolicyEntry> seal) {
        this.seal = seal;
        this.self = self;
        this.file = file;
        this.maxPolicies = maxPolicies;
        this.book = book;
    }

    /** Reads the book kept in {@code dataDir} (none there: empty); a damaged file fails the start, naming it. */
    public static PolicyStore open(ClusterId self, Path dataDir, int maxPolicies, UnaryOperator<PolicyEntry> seal) {
        Path file = dataDir.resolve(FILE);
        PolicyBook book = PolicyBook.EMPTY;
        if (Files.exists(file)) {
            try {
                List<PolicyEntry> entries = new ArrayList<>();
                for (JsonNode node : JSON.readTree(file.toFile())) {
                    JsonNode policy = node.path("policy");
                    JsonNode sealNode = node.path("seal");
                    entries.add(new PolicyEntry(node.path("name").asText(), policy.isObject()
                            ? Optional.of(PolicyCodec.readOne(policy.toString())) : Optional.empty(),
                            node.path("revision").asLong(), ClusterId.of(node.path("origin").asText()),
                            sealNode.isObject() ? Optional.of(new PolicyEntry.Seal(sealNode.path("signature").asText(),
                                    sealNode.path("certificate").asText())) : Optional.empty()));
                }
                book = book.mergeAll(entries);
            } catch (IOException | InvalidFieldException e) {
                throw new IllegalStateException("cannot read the policies kept in " + file + " (" + e.getMessage()
                        + "); restore it from a backup, or move it away to start with none and receive the "
                        + "clusterset's from its peers", e);
            }
        }
        return new PolicyStore(self, file, maxPolicies, book, seal);
    }

    public PolicyBook book() {
        return book;
    }

    /** Told the entries that won, after they are on disk: written here, or learnt from a peer. */
    public void whenChanged(Consumer<List<PolicyEntry>> listener) {
        listeners.add(listener);
    }

    /**
     * Sets these policies (all or none: each is already valid): a policy whose content is unchanged keeps its
     * revision. Returns the entries written.
     *
     * @throws InvalidFieldException when the book would hold more than the limit of policies
     */
    public synchronized List<PolicyEntry> apply(List<Policy> policies) {
        PolicyBook next = book;
        List<PolicyEntry> written = new ArrayList<>();
        for (Policy policy : policies) {
            if (next.get(policy.name()).equals(Optional.of(policy))) {
                continue;
            }
            PolicyEntry entry = seal.apply(next.write(policy.name(), Optional.of(policy), self));
            next = next.merge(entry);
            written.add(entry);
        }
        if (next.policies().size() > maxPolicies) {
            throw new InvalidFieldException("policies", next.policies().size(),
                    "more than isthmus.policy.max-policies (" + maxPolicies + ") would be in force");
        }
        commit(next, written);
        return written;
    }

    /** Deletes a policy (a tombstone that travels like any entry); empty when there is no such policy. */
    public synchronized Optional<PolicyEntry> delete(String name) {
        if (book.get(name).isEmpty()) {
            return Optional.empty();
        }
        PolicyEntry tombstone = seal.apply(book.write(name, Optional.empty(), self));
        commit(book.merge(tombstone), List.of(tombstone));
        return Optional.of(tombstone);
    }

    /**
     * Deletes several policies in one change (one write, one compile): all or none, refused naming the first name
     * that is not a policy in force.
     */
    public synchronized List<PolicyEntry> delete(List<String> names) {
        PolicyBook next = book;
        List<PolicyEntry> tombstones = new ArrayList<>();
        for (String name : names) {
            if (next.get(name).isEmpty()) {
                throw new InvalidFieldException("name", name, book.get(name).isEmpty() ? "is not a policy in force"
                        : "is given twice");
            }
            PolicyEntry tombstone = seal.apply(next.write(name, Optional.empty(), self));
            next = next.merge(tombstone);
            tombstones.add(tombstone);
        }
        commit(next, tombstones);
        return tombstones;
    }

    /**
     * Merges entries learnt from a peer; returns those that won (now on disk). New names past the limit of policies
     * are refused (returned in {@code refused}).
     */
    public synchronized List<PolicyEntry> merge(Collection<PolicyEntry> entries, Consumer<PolicyEntry> refused) {
        PolicyBook next = book;
        List<PolicyEntry> won = new ArrayList<>();
        for (PolicyEntry entry : entries) {
            PolicyBook merged = next.merge(entry);
            if (merged == next) {
                continue;
            }
            if (!entry.deleted() && next.get(entry.name()).isEmpty() && merged.policies().size() > maxPolicies) {
                refused.accept(entry);
                continue;
            }
            next = merged;
            won.add(entry);
        }
        commit(next, won);
        return won;
    }

    /** What a peer said its book's version is (it enforces that one once it compiled it). */
    public void peerReported(ClusterId peer, String version) {
        peerVersions.put(peer, version);
    }

    public Map<ClusterId, String> peerVersions() {
        return new TreeMap<>(peerVersions);
    }

    private void commit(PolicyBook next, List<PolicyEntry> changed) {
        if (changed.isEmpty()) {
            return;
        }
        write(next);
        book = next;
        listeners.forEach(listener -> listener.accept(List.copyOf(changed)));
    }

    /** Replaces the file atomically and forces it (and the directory entry) to disk. */
    private void write(PolicyBook next) {
        ArrayNode entries = JSON.createArrayNode();
        for (PolicyEntry entry : next.entries().values()) {
            ObjectNode node = entries.addObject().put("name", entry.name()).put("revision", entry.revision())
                    .put("origin", entry.origin().value());
            entry.policy().ifPresentOrElse(p -> node.set("policy", PolicyCodec.tree(p)), () -> node.putNull("policy"));
            entry.seal().ifPresent(seal -> node.putObject("seal").put("signature", seal.signature())
                    .put("certificate", seal.certificate()));
        }
        Path temp = file.resolveSibling("." + FILE + ".tmp");
        try {
            byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(entries);
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                out.write(ByteBuffer.wrap(bytes));
                out.force(true);
            }
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the policies in " + file + ": " + e.getMessage()
                    + " (nothing changed)", e);
        }
    }
}
