package io.isthmus.gateway.admin;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.testing.SettableClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdminTokensTest {
    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-07T10:00:00Z"));

    @Test
    void aCreatedTokenAuthenticatesAsItsUserAndRoleAndIsStoredOnlyAsAHash(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data").resolve("admin-tokens.json");
        AdminTokens tokens = new AdminTokens(file, clock);
        AdminTokens.Created made = tokens.create("alice", AdminRole.OPERATOR, Optional.empty());

        AdminCaller caller = tokens.authenticate(made.token()).orElseThrow();
        assertEquals("alice", caller.user());
        assertEquals(AdminRole.OPERATOR, caller.role());
        // isth_ID_SECRET, where a base64url SECRET may hold '_' itself: it starts after the 12-digit id.
        String secret = made.token().substring("isth_".length() + 12 + 1);
        assertEquals(43, secret.length());
        assertFalse(Files.readString(file).contains(secret), "the secret is never written");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    }

    @Test
    void aTokenWithOneCharacterChangedOrAnotherIdIsRefused(@TempDir Path dir) {
        AdminTokens tokens = new AdminTokens(dir.resolve("t.json"), clock);
        String token = tokens.create("alice", AdminRole.ADMIN, Optional.empty()).token();
        String other = tokens.create("bob", AdminRole.VIEWER, Optional.empty()).token();
        char last = token.charAt(token.length() - 1);
        assertEquals(Optional.empty(), tokens.authenticate(token.substring(0, token.length() - 1) + (last == 'A' ? 'B' : 'A')));
        // bob's id with alice's secret
        assertEquals(Optional.empty(), tokens.authenticate(other.substring(0, 17) + token.substring(17)));
        assertEquals(Optional.empty(), tokens.authenticate("Bearer " + token));
        assertEquals(Optional.empty(), tokens.authenticate(""));
    }

    @Test
    void anExpiredTokenIsRefusedAndARevokedOneToo(@TempDir Path dir) {
        AdminTokens tokens = new AdminTokens(dir.resolve("t.json"), clock);
        String shortLived = tokens.create("ci", AdminRole.VIEWER, Optional.of(Duration.ofHours(1))).token();
        AdminTokens.Created lasting = tokens.create("alice", AdminRole.ADMIN, Optional.empty());
        clock.set(Instant.parse("2026-12-07T10:59:59Z"));
        assertTrue(tokens.authenticate(shortLived).isPresent());
        clock.set(Instant.parse("2026-12-07T11:00:00Z"));
        assertEquals(Optional.empty(), tokens.authenticate(shortLived));

        assertTrue(tokens.revoke(lasting.entry().id()));
        assertEquals(Optional.empty(), tokens.authenticate(lasting.token()));
        assertFalse(tokens.revoke(lasting.entry().id()));
    }

    @Test
    void anotherProcessesChangeToTheFileIsSeenWithoutARestart(@TempDir Path dir) {
        Path file = dir.resolve("t.json");
        AdminTokens gateway = new AdminTokens(file, clock);
        AdminTokens cli = new AdminTokens(file, clock);
        assertEquals(Optional.empty(), gateway.authenticate("isth_000000000000_" + "A".repeat(43)));
        String token = cli.create("alice", AdminRole.VIEWER, Optional.empty()).token();
        assertTrue(gateway.authenticate(token).isPresent());
    }

    @Test
    void aDamagedFileKeepsTheTokensReadBeforeAndOpensNothing(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("t.json");
        AdminTokens tokens = new AdminTokens(file, clock);
        String token = tokens.create("alice", AdminRole.VIEWER, Optional.empty()).token();
        assertTrue(tokens.authenticate(token).isPresent());
        Files.writeString(file, "{ not json");
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(Instant.now().plusSeconds(5)));
        assertTrue(tokens.authenticate(token).isPresent(), "still the tokens read before");
        assertEquals(Optional.empty(), new AdminTokens(file, clock).authenticate(token), "a fresh reader holds none");
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> tokens.create("bob", AdminRole.VIEWER, Optional.empty()));
        assertEquals("isthmus.admin.auth.tokens-file", e.field());
    }

    @Test
    void badUserOrTtlNamesTheField(@TempDir Path dir) {
        AdminTokens tokens = new AdminTokens(dir.resolve("t.json"), clock);
        assertEquals("--user", assertThrows(InvalidFieldException.class,
                () -> tokens.create("al ice", AdminRole.VIEWER, Optional.empty())).field());
        assertEquals("--ttl", assertThrows(InvalidFieldException.class,
                () -> tokens.create("alice", AdminRole.VIEWER, Optional.of(Duration.ZERO))).field());
        assertFalse(Files.exists(dir.resolve("t.json")), "nothing written for bad input");
    }
}
