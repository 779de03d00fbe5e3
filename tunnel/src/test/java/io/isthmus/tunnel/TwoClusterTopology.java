package io.isthmus.tunnel;

import io.isthmus.fastpath.NetNamespace;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Four network namespaces made for one test and deleted by {@link #close()}: pod A — gateway A — gateway B — pod B,
 * joined by veth pairs.
 *
 * <pre>
 *  pod-a  p0 10.1.0.2/24 fd00:1::2/64 ── d0 10.1.0.1 fd00:1::1  gw-a  u0 192.168.77.1 fd77::1 ──
 *  ── u0 192.168.77.2 fd77::2  gw-b  d0 10.2.0.1 fd00:2::1 ── p0 10.2.0.2/24 fd00:2::2/64  pod-b
 * </pre>
 *
 * The gateways forward; the tunnel endpoints (TUN {@code isth0} and routes to the other cluster's ranges) come from
 * {@link NamespaceEndpoint}.
 */
final class TwoClusterTopology implements AutoCloseable {
    final NetNamespace podA;
    final NetNamespace gatewayA;
    final NetNamespace gatewayB;
    final NetNamespace podB;
    private final List<String> made = new ArrayList<>();

    TwoClusterTopology() throws Exception {
        String prefix = "itn" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xFFFFF));
        podA = NetNamespace.named(prefix + "-pa");
        gatewayA = NetNamespace.named(prefix + "-ga");
        gatewayB = NetNamespace.named(prefix + "-gb");
        podB = NetNamespace.named(prefix + "-pb");
        try {
            for (NetNamespace ns : List.of(podA, gatewayA, gatewayB, podB)) {
                run(List.of("ip", "netns", "add", ns.name()));
                made.add(ns.name());
                ip(ns, "link", "set", "lo", "up");
            }
            link(podA, "p0", gatewayA, "d0");
            link(gatewayA, "u0", gatewayB, "u0");
            link(podB, "p0", gatewayB, "d0");
            address(podA, "p0", "10.1.0.2/24", "fd00:1::2/64");
            address(gatewayA, "d0", "10.1.0.1/24", "fd00:1::1/64");
            address(gatewayA, "u0", "192.168.77.1/24", "fd77::1/64");
            address(gatewayB, "u0", "192.168.77.2/24", "fd77::2/64");
            address(gatewayB, "d0", "10.2.0.1/24", "fd00:2::1/64");
            address(podB, "p0", "10.2.0.2/24", "fd00:2::2/64");
            ip(podA, "-4", "route", "add", "default", "via", "10.1.0.1");
            ip(podA, "-6", "route", "add", "default", "via", "fd00:1::1");
            ip(podB, "-4", "route", "add", "default", "via", "10.2.0.1");
            ip(podB, "-6", "route", "add", "default", "via", "fd00:2::1");
            for (NetNamespace gateway : List.of(gatewayA, gatewayB)) {
                sysctl(gateway, "net.ipv4.ip_forward=1");
                sysctl(gateway, "net.ipv6.conf.all.forwarding=1");
            }
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    static void requireRoot() throws IOException, InterruptedException {
        Process id = new ProcessBuilder("id", "-u").start();
        String uid = new String(id.getInputStream().readAllBytes()).strip();
        id.waitFor();
        if (!uid.equals("0")) {
            throw new IllegalStateException("this test makes network namespaces and TUN devices: run it as root"
                    + " (CI does); uid is " + uid);
        }
    }

    private static void link(NetNamespace left, String leftName, NetNamespace right, String rightName)
            throws Exception {
        ip(left, "link", "add", leftName, "type", "veth", "peer", "name", rightName, "netns",
                right.name());
        ip(left, "link", "set", leftName, "up");
        ip(right, "link", "set", rightName, "up");
    }

    private static void address(NetNamespace ns, String device, String v4, String v6) throws Exception {
        ip(ns, "addr", "add", v4, "dev", device);
        ip(ns, "addr", "add", v6, "dev", device, "nodad");
    }

    private static void sysctl(NetNamespace ns, String setting) throws Exception {
        run(List.of("ip", "netns", "exec", ns.name(), "sysctl", "-q", "-w", setting));
    }

    /** Runs {@code ip -n NAMESPACE args...}; throws with its output when it fails. */
    static void ip(NetNamespace namespace, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("ip", "-n", namespace.name()));
        command.addAll(List.of(args));
        run(command);
    }

    static void run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within 30 s");
        }
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (exit " + process.exitValue() + "): "
                    + output.strip());
        }
    }

    @Override
    public void close() {
        for (String name : made.reversed()) {
            try {
                run(List.of("ip", "netns", "delete", name));
            } catch (IOException | InterruptedException e) {
                System.err.println("could not delete network namespace " + name + ": " + e.getMessage());
            }
        }
        made.clear();
    }
}
