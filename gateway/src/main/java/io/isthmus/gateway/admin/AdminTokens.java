package io.isthmus.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.pki.SecureFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The admin API's bearer tokens, kept in one owner-only JSON file as SHA-256 hashes: the token itself is printed
 * once when it is made and stored nowhere. A token is {@code isth_<id>_<secret>}: the id finds the entry, the
 * 256-bit secret is what is checked (a fast hash is enough for a random secret of that size; it is not a password).
 * The gateway re-reads the file when it changes, so {@code isthmus token create|revoke} act on a running gateway.
 */
public final class AdminTokens {
    private static final Pattern TOKEN = Pattern.compile("isth_([0-9a-f]{12})_([A-Za-z0-9_-]{43})");
    private static final Pattern USER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9@._-]{0,62}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AdminTokens.class);

    /** One stored token: never the secret, only its hash. */
    public record Entry(String id, String user, AdminRole role, String sha256, Instant created,
                        Optional<Instant> expires) {
        boolean liveAt(Instant now) {
            return expires.map(now::isBefore).orElse(true);
        }
    }

    /** A token just made: {@code token} is shown to the user once. */
    public record Created(Entry entry, String token) {
    }

    private final Path file;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private volatile Loaded loaded = new Loaded(null, List.of());

    private record Loaded(FileTime modified, List<Entry> entries) {
    }

    public AdminTokens(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
    }

    public Path file() {
        return file;
    }

    /** The caller a bearer token stands for, if it is one of ours, unexpired. */
    public Optional<AdminCaller> authenticate(String token) {
        var match = TOKEN.matcher(token);
        if (!match.matches()) {
            return Optional.empty();
        }
        byte[] presented = sha256(match.group(2)).getBytes(StandardCharsets.US_ASCII);
        Instant now = clock.instant();
        for (Entry entry : current()) {
            // Constant-time comparison of the hash, so timing tells nothing about how much of a secret matched.
            if (entry.id().equals(match.group(1))
                    && MessageDigest.isEqual(presented, entry.sha256().getBytes(StandardCharsets.US_ASCII))
                    && entry.liveAt(now)) {
                return Optional.of(new AdminCaller(entry.user(), entry.role(), "token " + entry.id()));
            }
        }
        return Optional.empty();
    }

    public List<Entry> list() {
        return current();
    }

    /** Makes a token for {@code user} with {@code role}; {@code ttl} empty: it lasts until revoked. */
    public synchronized Created create(String user, AdminRole role, Optional<Duration> ttl) {
        if (!USER.matcher(user).matches()) {
            throw new InvalidFieldException("--user", user,
                    "expected a name of letters, digits, '@', '.', '_' or '-' (at most 63), e.g. alice");
        }
        ttl.ifPresent(t -> {
            if (t.isNegative() || t.isZero()) {
                throw new InvalidFieldException("--ttl", t, "must be positive");
            }
        });
        byte[] idBytes = new byte[6];
        byte[] secretBytes = new byte[32];
        random.nextBytes(idBytes);
        random.nextBytes(secretBytes);
        String id = HexFormat.of().formatHex(idBytes);
        String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
        Instant now = clock.instant();
        Entry entry = new Entry(id, user, role, sha256(secret), now, ttl.map(now::plus));
        List<Entry> next = new ArrayList<>(readFile().entries());
        next.add(entry);
        write(next);
        return new Created(entry, "isth_" + id + "_" + secret);
    }

    /** Removes the token with {@code id}; false if there was none. */
    public synchronized boolean revoke(String id) {
        List<Entry> next = new ArrayList<>(readFile().entries());
        boolean removed = next.removeIf(e -> e.id().equals(id));
        if (removed) {
            write(next);
        }
        return removed;
    }

    private List<Entry> current() {
        FileTime modified;
        try {
            modified = Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return List.of(); // no file: no tokens, so nothing but the open probes is served
        }
        Loaded now = loaded;
        if (!modified.equals(now.modified())) {
            try {
                now = readFile();
                loaded = now;
            } catch (InvalidFieldException e) {
                // A damaged file must not open the API, nor lock out everyone: keep the tokens read before.
                LOG.warn("{}; still using the {} token(s) read before", e.getMessage(), now.entries().size());
            }
        }
        return now.entries();
    }

    private Loaded readFile() {
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            JsonNode root = JSON.readTree(Files.readAllBytes(file));
            List<Entry> entries = new ArrayList<>();
            for (JsonNode t : root.path("tokens")) {
                entries.add(new Entry(t.path("id").asText(), t.path("user").asText(),
                        AdminRole.parse(file + ": role", t.path("role").asText()), t.path("sha256").asText(),
                        Instant.parse(t.path("created").asText()),
                        t.hasNonNull("expires") ? Optional.of(Instant.parse(t.get("expires").asText())) : Optional.empty()));
            }
            return new Loaded(modified, List.copyOf(entries));
        } catch (NoSuchFileException e) {
            return new Loaded(null, List.of());
        } catch (IOException | RuntimeException e) {
            throw new InvalidFieldException("isthmus.admin.auth.tokens-file", file.toString(),
                    "cannot be read as a token store: " + e.getMessage());
        }
    }

    private void write(List<Entry> entries) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode tokens = root.putArray("tokens");
        for (Entry e : entries) {
            ObjectNode t = tokens.addObject().put("id", e.id()).put("user", e.user()).put("role", e.role().label())
                    .put("sha256", e.sha256()).put("created", e.created().toString());
            e.expires().ifPresent(x -> t.put("expires", x.toString()));
        }
        Path dir = file.toAbsolutePath().getParent();
        SecureFiles.ensureDirectory(dir);
        SecureFiles.replace(file, (root.toPrettyString() + "\n").getBytes(StandardCharsets.UTF_8), true);
    }

    private static String sha256(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(secret.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
