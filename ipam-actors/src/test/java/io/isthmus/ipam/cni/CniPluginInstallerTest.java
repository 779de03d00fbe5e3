package io.isthmus.ipam.cni;

import io.isthmus.testing.Netns;
import io.isthmus.testing.PluginRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CniPluginInstallerTest {

    @Test
    void installsAnExecutablePluginAndReplacesAnOlderOne(@TempDir Path dir) throws IOException {
        Path bin = dir.resolve("opt/cni/bin");
        Path first = CniPluginInstaller.installTo(bin);
        assertEquals(bin.resolve("isthmus-ipam"), first);
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(first)));

        Files.writeString(first, "an older build");
        Path second = CniPluginInstaller.installTo(bin);
        assertTrue(Files.size(second) > 10_000, "the executable replaced the old file");
        try (var files = Files.list(bin)) {
            assertEquals(List.of(second), files.toList(), "no partial copy left behind");
        }
        PluginRun version = PluginRun.run(List.of(second.toString()), new PluginRun.Env().set("CNI_COMMAND", "VERSION"),
                "{\"cniVersion\": \"0.4.0\"}");
        assertEquals(0, version.exitCode(), version.toString());
        assertEquals("0.4.0", version.json().path("cniVersion").asText());
    }
}
