package io.isthmus.gateway.cli;

import io.isthmus.ipam.cni.CniPluginInstaller;
import io.isthmus.testing.Netns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Needs root. {@code isthmus uninstall} over leftovers this test makes itself, next to look-alikes that are not
 * Isthmus's: demo-style namespaces, a namespace with routes of protocol 73 and others, the TUN device and another,
 * an XDP program of ours, pinned BPF objects on a bpf filesystem of the test's, the CNI plugin beside another
 * plugin, the runtime directory. Checked afterwards with ip, bpftool and the file system, never with the command.
 * The host's own namespace is left out ({@code --host-namespace false}): the test touches nothing of the machine.
 */
class UninstallCommandTest {
    private final Netns netns = new Netns("isut");
    /** The demo's namespaces are isd<N>-...; the test's own look-alikes get a prefix no demo uses. */
    private final String demoPrefix = "isut" + ThreadLocalRandom.current().ints(3, 'a', 'z' + 1)
            .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append);
    private Path bpffs;

    @AfterEach
    void cleanUp() {
        netns.close();
        if (bpffs != null) {
            Netns.run(List.of("umount", bpffs.toString()));
        }
        for (String ns : namespaces()) {
            if (ns.startsWith(demoPrefix)) {
                Netns.ip("netns", "del", ns);
            }
        }
    }

    private static List<String> namespaces() {
        return Netns.ip("netns", "list").lines().map(l -> l.split(" ")[0]).toList();
    }

    @Test
    void itRemovesWhatIsOursLeavesTheRestAndASecondRunFindsNothing(@TempDir Path dir) throws Exception {
        assertTrue(Netns.isRoot(), "this test makes namespaces, TUN devices and a bpf filesystem: run it as root (CI does)");
        String demoEast = demoPrefix + "7-east-gw";
        String demoWest = demoPrefix + "7-west-pod";
        Netns.ip("netns", "add", demoEast);
        Netns.ip("netns", "add", demoWest);
        String lookAlike = netns.create("east-gw"); // not PREFIX<N>-...: kept
        String gw = netns.create("gw");
        Netns.ip("-n", gw, "link", "add", "u0", "type", "veth", "peer", "name", "u1");
        Netns.ip("-n", gw, "link", "set", "u0", "up");
        Netns.ip("-n", gw, "link", "set", "u1", "up");
        Netns.ip("-n", gw, "addr", "add", "192.168.231.1/24", "dev", "u0");
        Netns.ip("-n", gw, "route", "add", "10.231.0.0/16", "via", "192.168.231.2", "proto", "73");
        Netns.ip("-n", gw, "route", "add", "10.232.0.0/16", "via", "192.168.231.2", "proto", "static");
        Netns.ip("-n", gw, "tuntap", "add", "dev", "isthmus0", "mode", "tun");
        Netns.ip("-n", gw, "tuntap", "add", "dev", "other0", "mode", "tun");
        Path program = Path.of("..", "fastpath", "target", "classes", "io", "isthmus", "fastpath", "isthmus_xdp.o");
        assertTrue(Files.isRegularFile(program), "the fastpath build compiles " + program);
        Netns.ip("-n", gw, "link", "set", "dev", "u0", "xdpgeneric", "obj", program.toString(), "sec", "xdp");
        assertTrue(Netns.ip("-n", gw, "-d", "link", "show", "dev", "u0").contains("isthmus_xdp"));

        bpffs = Files.createDirectory(dir.resolve("bpffs"));
        Netns.run(List.of("mount", "-t", "bpf", "bpf", bpffs.toString()));
        Path pins = Files.createDirectory(bpffs.resolve("isthmus"));
        Netns.run(List.of("bpftool", "map", "create", pins.resolve("ist_test").toString(), "type", "hash",
                "key", "4", "value", "4", "entries", "4", "name", "ist_test"));
        Path other = Files.createDirectory(bpffs.resolve("other"));
        Netns.run(List.of("bpftool", "map", "create", other.resolve("kept").toString(), "type", "hash",
                "key", "4", "value", "4", "entries", "4", "name", "kept"));

        Path bin = Files.createDirectory(dir.resolve("bin"));
        CniPluginInstaller.installTo(bin);
        Files.writeString(bin.resolve("macvlan"), "another plugin");
        Path partial = Files.writeString(bin.resolve(".isthmus-ipam12345.partial"), "an install killed midway");
        Path run = Files.createDirectories(dir.resolve("run").resolve("isthmus"));
        Files.writeString(run.resolve("ipam.sock"), ""); // left by a gateway that is gone: nobody listens
        Path conf = Files.createDirectory(dir.resolve("net.d"));
        Files.writeString(conf.resolve("10-pods.conflist"), "{\"plugins\": [{\"ipam\": {\"type\": \"isthmus-ipam\"}}]}");

        String[] args = {"uninstall", "--host-namespace", "false", "--netns", gw, "--demo-prefix", demoPrefix,
                "--cni-bin-dir", bin.toString(), "--cni-conf-dir", conf.toString(), "--run-dir", run.toString(),
                "--bpf-pin-dir", pins.toString()};
        Cli dry = Cli.run(withDryRun(args));
        assertEquals(0, dry.exitCode(), dry.toString());
        assertTrue(dry.out().contains("would remove network namespace " + demoEast), dry.out());
        assertTrue(namespaces().contains(demoEast), "a dry run removes nothing");

        Cli first = Cli.run(args);
        assertEquals(0, first.exitCode(), first.toString());
        List<String> left = namespaces();
        assertFalse(left.contains(demoEast) || left.contains(demoWest), left.toString());
        assertTrue(left.contains(lookAlike) && left.contains(gw), left.toString());
        String routes = Netns.ip("-n", gw, "route", "show");
        assertFalse(routes.contains("10.231.0.0/16"), routes);
        assertTrue(routes.contains("10.232.0.0/16"), "a route that is not protocol 73 stays: " + routes);
        assertFalse(Netns.hasLink(gw, "isthmus0"));
        assertTrue(Netns.hasLink(gw, "other0"));
        assertFalse(Netns.ip("-n", gw, "-d", "link", "show", "dev", "u0").contains("xdp"), "the XDP program is detached");
        assertFalse(Files.exists(pins));
        assertTrue(Files.exists(other.resolve("kept")));
        assertFalse(Files.exists(bin.resolve(CniPluginInstaller.PLUGIN_NAME)));
        assertTrue(Files.exists(bin.resolve("macvlan")));
        assertFalse(Files.exists(partial));
        assertFalse(Files.exists(run));
        assertTrue(Files.exists(conf.resolve("10-pods.conflist")), "an operator's config is reported, not removed");
        assertTrue(first.out().contains("kept " + conf.resolve("10-pods.conflist")), first.out());

        Cli second = Cli.run(args);
        assertEquals(0, second.exitCode(), second.toString());
        assertTrue(second.out().contains("nothing to remove"), second.out());
    }

    @Test
    void itRefusesWhileAGatewayServesTheCniSocketAndANamespaceThatIsNotThereIsNamed(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectories(dir.resolve("isthmus"));
        try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(run.resolve("ipam.sock")));
            Cli refused = Cli.run("uninstall", "--host-namespace", "false", "--run-dir", run.toString(),
                    "--cni-bin-dir", dir.toString(), "--bpf-pin-dir", dir.resolve("none").toString());
            assertNotEquals(0, refused.exitCode(), refused.toString());
            assertTrue(refused.err().contains("a gateway serves CNI at " + run.resolve("ipam.sock")), refused.err());
            assertTrue(Files.exists(run), "nothing removed");
        }
        Cli missing = Cli.run("uninstall", "--host-namespace", "false", "--netns", "isut-not-there", "--demo-prefix", demoPrefix,
                "--run-dir", dir.resolve("gone").toString(), "--cni-bin-dir", dir.toString(),
                "--bpf-pin-dir", dir.resolve("none").toString(), "--cni-conf-dir", dir.toString());
        assertEquals(1, missing.exitCode(), missing.toString());
        assertTrue(missing.err().contains("--netns isut-not-there: no such network namespace"), missing.err());
    }

    private static String[] withDryRun(String[] args) {
        String[] dry = java.util.Arrays.copyOf(args, args.length + 1);
        dry[args.length] = "--dry-run";
        return dry;
    }
}
