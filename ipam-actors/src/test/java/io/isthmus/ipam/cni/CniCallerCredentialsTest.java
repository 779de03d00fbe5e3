package io.isthmus.ipam.cni;

import io.isthmus.api.Cidr;
import io.isthmus.ipam.cni.InMemoryCniBackend.PoolSpec;
import io.isthmus.testing.Netns;
import io.isthmus.testing.PluginRun;
import io.isthmus.testing.PluginRun.Env;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who may call the CNI endpoint: the real {@code isthmus-ipam} executable run as other users with {@code setpriv}
 * (a process of another uid, its groups set as the test says), against a {@link CniServer} that checks its callers'
 * kernel credentials. Needs root (to switch users); CI runs it as root.
 */
class CniCallerCredentialsTest {
    /** A group no user of the machine has: the allowed group of the endpoint under test. */
    private static final String CNI_GROUP = "4242";
    private static final String NOBODY = "65534";

    @TempDir
    Path dir;

    private InMemoryCniBackend backend;
    private CniServer server;
    private Path plugin;
    private Path socket;

    @BeforeEach
    void install() throws IOException {
        assertTrue(Netns.isRoot(), "this test runs the plugin as other users: run it as root (CI does)");
        backend = new InMemoryCniBackend(new TestClock(), Duration.ofSeconds(30),
                new PoolSpec("blue", Cidr.parse("subnet", "10.77.0.0/24"), ip("10.77.0.1"), List.of()));
        // other users must reach the plugin and the socket's directory; the socket file itself stays 0660
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        plugin = CniPluginInstaller.installTo(dir.resolve("bin"));
        Files.setPosixFilePermissions(dir.resolve("bin"), PosixFilePermissions.fromString("rwxr-xr-x"));
        socket = dir.resolve("run/ipam.sock");
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    private void serve(CniCallers callers) throws IOException {
        server = CniServer.start(socket, backend, Duration.ofSeconds(5), callers);
        Files.setPosixFilePermissions(socket.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private String config() {
        return """
                {"cniVersion": "1.0.0", "name": "podnet", "type": "macvlan",
                 "ipam": {"type": "isthmus-ipam", "pool": "blue", "socket": "%s"}}""".formatted(socket);
    }

    /** The plugin, run by {@code setpriv} with these identity options (none: as root, the runtime's way). */
    private PluginRun callAs(List<String> setpriv, String command, String containerId) {
        List<String> line = new ArrayList<>();
        if (!setpriv.isEmpty()) {
            line.add("/usr/bin/setpriv");
            line.addAll(setpriv);
            line.add("--");
        }
        line.add(plugin.toString());
        Env env = PluginRun.command(command, containerId, "/var/run/netns/" + containerId, "eth0",
                plugin.getParent().toString());
        return PluginRun.run(line, env, config());
    }

    private static List<String> user(String uid, String gid, String... supplementary) {
        List<String> options = new ArrayList<>(List.of("--reuid=" + uid, "--regid=" + gid));
        options.add(supplementary.length == 0 ? "--clear-groups" : "--groups=" + String.join(",", supplementary));
        return options;
    }

    @Test
    void aNonRootCallerIsRefusedEvenWhereTheSocketFileLetsItConnect() throws IOException {
        serve(CniCallers.rootOnly());
        // as if the socket had been made world-writable (or handed into a container): only the peer check is left
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        PluginRun refused = callAs(user(NOBODY, NOBODY), "ADD", "c-nobody");
        assertEquals(106, refused.errorCode(), refused.toString());
        String details = refused.json().path("details").asText();
        assertTrue(details.contains("uid 0 only"), details);
        assertEquals(List.of(), backend.held("blue"), "nothing was reserved for the refused caller");
        assertEquals(1, server.refused(CniServer.Refusal.CALLER));

        PluginRun root = callAs(List.of(), "ADD", "c-root");
        assertEquals(0, root.exitCode(), "the runtime (root) is served: " + root);
        assertEquals(1, backend.held("blue").size());
    }

    @Test
    void withACallerGroupOnlyProcessesRunningAsThatGroupAreServed() throws IOException {
        serve(CniCallers.rootOrGroup(CNI_GROUP));
        assertEquals(Integer.parseInt(CNI_GROUP), (Integer) Files.getAttribute(socket, "unix:gid"),
                "the socket file belongs to the caller group");
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));

        // not in the group at all: the socket file's mode keeps it out before the gateway sees it
        PluginRun outsider = callAs(user(NOBODY, NOBODY), "ADD", "c-outsider");
        assertEquals(11, outsider.errorCode(), outsider.toString());
        assertTrue(outsider.json().path("details").asText().contains(socket.toString()), outsider.toString());

        // a supplementary member gets through the file mode, but the kernel's record says its group is another one
        PluginRun member = callAs(user(NOBODY, NOBODY, CNI_GROUP), "ADD", "c-member");
        assertEquals(106, member.errorCode(), member.toString());
        assertTrue(member.json().path("details").asText().contains("effective group " + CNI_GROUP), member.toString());
        assertEquals(1, server.refused(CniServer.Refusal.CALLER));

        PluginRun allowed = callAs(user(NOBODY, CNI_GROUP), "ADD", "c-group");
        assertEquals(0, allowed.exitCode(), allowed.toString());
        PluginRun del = callAs(user(NOBODY, CNI_GROUP), "DEL", "c-group");
        assertEquals(0, del.exitCode(), del.toString());
        assertEquals(List.of(), backend.held("blue"));
        assertEquals(1, server.refused(CniServer.Refusal.CALLER), "allowed calls are not counted as refused");
    }

    @Test
    void anUnknownCallerGroupIsRefusedNamingIt() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> CniCallers.rootOrGroup("no-such-group-here"));
        assertTrue(e.getMessage().contains("'no-such-group-here'"), e.getMessage());
    }

    private static java.net.InetAddress ip(String text) {
        return io.isthmus.api.IpLiteral.parse("ip", text);
    }
}
