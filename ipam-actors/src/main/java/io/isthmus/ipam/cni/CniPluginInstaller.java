package io.isthmus.ipam.cni;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Installs the {@code isthmus-ipam} plugin executable, which the build compiles from src/main/c and ships in this
 * jar, into a CNI plugin directory (usually /opt/cni/bin). The copy is written beside the target and renamed over
 * it, so a runtime never executes a half-written plugin.
 */
public final class CniPluginInstaller {
    public static final String PLUGIN_NAME = "isthmus-ipam";
    private static final String RESOURCE = PLUGIN_NAME;

    private CniPluginInstaller() {
    }

    /** Copies the plugin to {@code directory}/isthmus-ipam with mode 0755; returns the installed path. */
    public static Path installTo(Path directory) throws IOException {
        Files.createDirectories(directory);
        Path target = directory.resolve(PLUGIN_NAME);
        Path partial = Files.createTempFile(directory, "." + PLUGIN_NAME, ".partial");
        try (InputStream plugin = CniPluginInstaller.class.getResourceAsStream(RESOURCE)) {
            if (plugin == null) {
                throw new IOException("the isthmus-ipam executable is missing from the classpath (resource "
                        + CniPluginInstaller.class.getPackageName().replace('.', '/') + "/" + RESOURCE
                        + "); the ipam-actors build compiles it with gcc: rebuild with gcc and libc6-dev installed");
            }
            Files.copy(plugin, partial, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(partial);
        }
        return target;
    }
}
