package io.isthmus.loadtest;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The container image as image/README.md describes it: image/build.sh makes it from this build's gateway jar (the
 * package phase, like LoadtestRunTest), the same jar gives the same digest, and image/smoke.sh runs it under
 * Debian's podman in a network namespace of its own, where it must answer /readyz and DNS as uid 65532.
 */
class ImageTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    record Run(int exit, String out) {
    }

    private static Run run(long timeoutSeconds, String script, String... args) throws Exception {
        Path log = Files.createTempFile("isthmus-image", ".log");
        try {
            var command = new java.util.ArrayList<>(java.util.List.of("bash", ROOT.resolve(script).toString()));
            command.addAll(java.util.List.of(args));
            Process process = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroy);
                process.destroy();
                process.waitFor(30, TimeUnit.SECONDS);
                throw new AssertionError(script + " ran past " + timeoutSeconds + " s:\n" + Files.readString(log));
            }
            return new Run(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    @Test
    void theImageBuildsReproduciblyAndRunsAGatewayThatAnswers() throws Exception {
        Run first = run(600, "image/build.sh", "--no-manifests");
        assertEquals(0, first.exit(), first.out());
        String digest = Files.readString(ROOT.resolve("target/image/digest")).strip();
        assertTrue(first.out().strip().endsWith(digest), "build.sh prints the digest it wrote:\n" + first.out());
        // The digest is the manifest's own sha256, as a registry computes it.
        String hex = digest.substring("sha256:".length());
        byte[] manifest = Files.readAllBytes(ROOT.resolve("target/image/oci/blobs/sha256").resolve(hex));
        assertEquals(hex, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(manifest)));
        assertTrue(new String(manifest, StandardCharsets.UTF_8).contains("\"layers\""), "a manifest, not an index");

        Run again = run(300, "image/build.sh", "--no-manifests");
        assertEquals(0, again.exit(), again.out());
        assertEquals(digest, Files.readString(ROOT.resolve("target/image/digest")).strip(), "the same jar, the same image");

        Run smoke = run(240, "image/smoke.sh");
        assertEquals(0, smoke.exit(), smoke.out());
        assertTrue(smoke.out().contains("answered /readyz") && smoke.out().contains("as uid 65532"), smoke.out());
        assertTrue(smoke.out().contains("hostmaster.clusterset.local."), smoke.out());
        System.out.println(first.out().lines().filter(l -> l.startsWith("image: size")).findFirst().orElse("")
                + "\n" + smoke.out().strip());
    }
}
