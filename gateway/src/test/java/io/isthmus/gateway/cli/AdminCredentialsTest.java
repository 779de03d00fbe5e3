package io.isthmus.gateway.cli;

import io.isthmus.api.InvalidFieldException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AdminCredentialsTest {
    private static final String FILE = """
            current = east
            gateways {
              east { admin = "http://127.0.0.1:7070", token = "east-token" }
              west { admin = "http://10.0.0.7:7070/", token-file = "west.token" }
              "edge.eu" { admin = "http://10.0.0.8:7070" }
            }
            """;

    private static AdminCredentials.Resolved resolve(String admin, String token, Path file, String context,
                                                     Map<String, String> env, Path home) {
        return AdminCredentials.resolve(admin, token, file, context, env, home);
    }

    @Test
    void theCurrentGatewayOfTheDefaultFileIsUsedWhenNothingIsGiven(@TempDir Path home) throws Exception {
        Files.createDirectories(home.resolve(".config/isthmus"));
        Files.writeString(home.resolve(".config/isthmus/credentials"), FILE);
        assertEquals(new AdminCredentials.Resolved("http://127.0.0.1:7070", Optional.of("east-token")),
                resolve(null, null, null, null, Map.of(), home));
    }

    @Test
    void anAdminUrlPicksTheEntryWithThatUrlAndATokenFileIsRead(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("creds");
        Files.writeString(file, FILE);
        Files.writeString(dir.resolve("west.token"), "west-token\n");
        assertEquals(new AdminCredentials.Resolved("http://10.0.0.7:7070", Optional.of("west-token")),
                resolve("http://10.0.0.7:7070", null, file, null, Map.of(), dir));
        assertEquals(new AdminCredentials.Resolved("http://192.0.2.1:7070", Optional.empty()),
                resolve("http://192.0.2.1:7070", null, file, null, Map.of(), dir), "an unknown gateway gets no token");
    }

    @Test
    void flagsBeatTheEnvironmentWhichBeatsTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("creds");
        Files.writeString(file, FILE);
        Map<String, String> env = Map.of("ISTHMUS_TOKEN", "env-token", "ISTHMUS_CREDENTIALS", file.toString());
        assertEquals(Optional.of("flag-token"), resolve(null, "flag-token", null, null, env, dir).token());
        assertEquals(Optional.of("env-token"), resolve(null, null, null, null, env, dir).token());
        assertEquals("http://127.0.0.1:7070", resolve(null, null, null, null, env, dir).adminUrl(),
                "the file named by the environment is read");
        assertEquals(new AdminCredentials.Resolved("http://10.0.0.8:7070", Optional.empty()),
                resolve(null, null, file, "edge.eu", Map.of(), dir), "a dotted name is one gateway");
    }

    @Test
    void withoutAnyFileTheDefaultGatewayIsCalledWithoutAToken(@TempDir Path home) {
        assertEquals(new AdminCredentials.Resolved(AdminClient.DEFAULT_ADMIN, Optional.empty()),
                resolve(null, null, null, null, Map.of(), home));
    }

    @Test
    void aMissingNamedFileAnUnknownContextOrABrokenFileNameTheField(@TempDir Path dir) throws Exception {
        assertEquals("--credentials", assertThrows(InvalidFieldException.class,
                () -> resolve(null, null, dir.resolve("nope"), null, Map.of(), dir)).field());
        assertEquals("$ISTHMUS_CREDENTIALS", assertThrows(InvalidFieldException.class, () -> resolve(null, null, null,
                null, Map.of("ISTHMUS_CREDENTIALS", dir.resolve("nope").toString()), dir)).field());
        Path file = dir.resolve("creds");
        Files.writeString(file, FILE);
        InvalidFieldException unknown = assertThrows(InvalidFieldException.class,
                () -> resolve(null, null, file, "north", Map.of(), dir));
        assertEquals("--context", unknown.field());
        Files.writeString(file, "gateways { east { admin = ");
        assertEquals("--credentials", assertThrows(InvalidFieldException.class,
                () -> resolve(null, null, file, null, Map.of(), dir)).field());
    }
}
