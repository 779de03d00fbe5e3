package io.isthmus.policy;

import io.isthmus.api.ClusterId;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The clusterset's policies as one cluster holds them: per name, the winning {@link PolicyEntry}. Merging keeps the
 * winner per name, so it is commutative, associative and idempotent: clusters that have seen the same entries, in any
 * order, hold the same book and report the same {@link #version()}. Immutable.
 */
public record PolicyBook(SortedMap<String, PolicyEntry> entries) {
    public static final PolicyBook EMPTY = new PolicyBook(new TreeMap<>());

    public PolicyBook {
        entries = Collections.unmodifiableSortedMap(new TreeMap<>(entries));
    }

    /** This book with {@code entry}, if it wins over the one held for its name. */
    public PolicyBook merge(PolicyEntry entry) {
        PolicyEntry held = entries.get(entry.name());
        if (held != null && !entry.supersedes(held)) {
            return this;
        }
        TreeMap<String, PolicyEntry> next = new TreeMap<>(entries);
        next.put(entry.name(), entry);
        return new PolicyBook(next);
    }

    public PolicyBook mergeAll(Collection<PolicyEntry> others) {
        PolicyBook book = this;
        for (PolicyEntry entry : others) {
            book = book.merge(entry);
        }
        return book;
    }

    /** The entry {@code origin} writes to set (or, with an empty policy, delete) {@code name}: one revision on. */
    public PolicyEntry write(String name, Optional<Policy> policy, ClusterId origin) {
        long revision = Optional.ofNullable(entries.get(name)).map(PolicyEntry::revision).orElse(0L) + 1;
        return new PolicyEntry(name, policy, revision, origin);
    }

    public Optional<Policy> get(String name) {
        return Optional.ofNullable(entries.get(name)).flatMap(PolicyEntry::policy);
    }

    /** The policies in force, in evaluation order ({@link Policy#ORDER}). */
    public List<Policy> policies() {
        return entries.values().stream().flatMap(e -> e.policy().stream()).sorted(Policy.ORDER).toList();
    }

    /**
     * What every cluster holding the same entries reports: the count of policies in force and the first 12 hex
     * digits of a SHA-256 over every entry (name, revision, origin, canonical policy or deletion), e.g.
     * {@code 3:9f2c04ab11e0}; {@code 0:empty} for none.
     */
    public String version() {
        if (entries.isEmpty()) {
            return "0:empty";
        }
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        for (PolicyEntry entry : entries.values()) {
            String line = entry.name() + "\n" + entry.revision() + "\n" + entry.origin().value() + "\n"
                    + entry.policy().map(PolicyCodec::canonicalJson).orElse("deleted") + "\n";
            sha.update(line.getBytes(StandardCharsets.UTF_8));
        }
        return policies().size() + ":" + HexFormat.of().formatHex(sha.digest()).substring(0, 12);
    }
}
