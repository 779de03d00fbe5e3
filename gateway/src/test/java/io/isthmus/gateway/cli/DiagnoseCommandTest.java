package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import io.isthmus.testing.SriovSysfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code isthmus diagnose} on fixture sysfs trees and on this machine, and its clock-skew check over a status. */
class DiagnoseCommandTest {
    /** A loopback port nothing listens on (a gateway of another test must not decide these node checks' exit). */
    private static final String NO_GATEWAY = "http://127.0.0.1:" + closedPort();

    private static int closedPort() {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void listsEachPhysicalFunctionAndItsVfs(@TempDir Path dir) {
        SriovSysfs sysfs = new SriovSysfs(dir)
                .virtualDevice("lo", "00:00:00:00:00:00")
                .physicalFunction("enp59s0f0", "0000:3b:00.0", "ice", 64, "3c:fd:fe:00:00:10")
                .virtualFunction("0000:3b:00.0", 0, "0000:3b:01.0", "iavf", "enp59s0f0v0", "02:00:00:00:01:00")
                .virtualFunction("0000:3b:00.0", 1, "0000:3b:01.1", "vfio-pci", null, null);
        Cli diagnose = Cli.run("diagnose", "--sysfs-root", sysfs.root().toString(), "--admin", NO_GATEWAY);
        assertEquals(0, diagnose.exitCode(), diagnose.toString());
        assertEquals("""
                sr-iov: available: 1 physical function: enp59s0f0 (0000:3b:00.0, driver ice, 2 of 64 VFs enabled)
                  enp59s0f0 vf 0: 0000:3b:01.0, driver iavf, netdev enp59s0f0v0, mac 02:00:00:00:01:00
                  enp59s0f0 vf 1: 0000:3b:01.1, driver vfio-pci, no netdev here
                """, sriovSection(diagnose));
    }

    @Test
    void withoutAPhysicalFunctionItSaysSoAndWhereItLooked(@TempDir Path dir) {
        new SriovSysfs(dir).virtualDevice("lo", "00:00:00:00:00:00").plainNic("eno1", "0000:00:1f.6", "e1000e",
                "3c:fd:fe:00:00:01");
        Cli diagnose = Cli.run("diagnose", "--sysfs-root", dir.toString(), "--admin", NO_GATEWAY);
        assertEquals(0, diagnose.exitCode(), diagnose.toString());
        assertEquals("sr-iov: unavailable: no SR-IOV physical function: none of the 2 network devices in "
                + dir.resolve("class/net") + " [eno1, lo] has device/sriov_totalvfs\n", sriovSection(diagnose));
    }

    @Test
    void onThisMachineItAnswersFromSlashSys() {
        Cli diagnose = Cli.run("diagnose", "--admin", NO_GATEWAY);
        assertEquals(0, diagnose.exitCode(), diagnose.toString());
        // CI has no SR-IOV hardware; a node that has some gets its PFs listed instead
        String out = sriovSection(diagnose);
        for (String path : new String[] {"batched UDP (recvmmsg/sendmmsg): ", "TUN: ", "UDP GSO/GRO: ", "xdp: "}) {
            assertTrue(diagnose.out().lines().anyMatch(l -> l.startsWith(path + "available: ")
                    || l.startsWith(path + "unavailable: ")), path + " in\n" + diagnose.out());
        }
        if (out.startsWith("sr-iov: unavailable: ")) {
            assertTrue(out.startsWith("sr-iov: unavailable: no SR-IOV physical function: none of the "), out);
            assertTrue(out.contains(" network devices in /sys/class/net ["), out);
        } else {
            assertTrue(out.startsWith("sr-iov: available: ") && out.contains(" physical function"), out);
        }
    }

    /** From the SR-IOV line to the clock-skew check (the fast-path lines before it depend on this machine). */
    private static String sriovSection(Cli diagnose) {
        String out = diagnose.out();
        int at = out.indexOf("sr-iov: ");
        assertTrue(at >= 0, out);
        int gateway = out.indexOf("gateway checks (");
        assertTrue(gateway > at, out);
        return out.substring(at, gateway);
    }

    // ---- the clock-skew check, over the links of a gateway's status ----

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A status with an up link per pair of cluster and skew in ms (null: no estimate yet), bound 0.4 ms. */
    private static JsonNode status(Object... clustersAndSkews) {
        ObjectNode status = JSON.createObjectNode().put("clusterId", "east");
        ArrayNode peers = status.putArray("peers");
        for (int i = 0; i < clustersAndSkews.length; i += 2) {
            ObjectNode link = peers.addObject().put("link", "out-" + (i / 2 + 1))
                    .put("cluster", (String) clustersAndSkews[i]).put("state", "up");
            if (clustersAndSkews[i + 1] != null) {
                link.put("clockSkewMillis", ((Number) clustersAndSkews[i + 1]).doubleValue())
                        .put("clockSkewBoundMillis", 0.4);
            }
        }
        return status;
    }

    private static GatewayChecks.Level levelOf(double skewMillis) {
        return GatewayChecks.clockSkew(status("west", skewMillis)).level();
    }

    @Test
    void skewUnderOneSecondIsOkFromOneSecondAWarningFromThirtyAFailureEitherWay() {
        assertEquals(GatewayChecks.Level.OK, levelOf(0));
        assertEquals(GatewayChecks.Level.OK, levelOf(999.9));
        assertEquals(GatewayChecks.Level.OK, levelOf(-999.9));
        assertEquals(GatewayChecks.Level.WARN, levelOf(1_000));
        assertEquals(GatewayChecks.Level.WARN, levelOf(-1_000));
        assertEquals(GatewayChecks.Level.WARN, levelOf(29_999));
        assertEquals(GatewayChecks.Level.FAIL, levelOf(30_000));
        assertEquals(GatewayChecks.Level.FAIL, levelOf(-45_000));
    }

    @Test
    void eachLinkGetsALineThatSaysWhatToDoAndTheWorstDecides() {
        GatewayChecks.Check check = GatewayChecks.clockSkew(status("west", 3.5, "north", -1_500.25, "edge", null));
        assertEquals(GatewayChecks.Level.WARN, check.level());
        assertEquals("""
                clock skew: WARN: a peer's clock is 1 s or more from this gateway's (2 of 3 links measured)
                  out-1 to west: ok: west's clock is 0.004 s ahead of this gateway's (±0.000 s)
                  out-2 to north: WARN: north's clock is 1.500 s behind this gateway's (±0.000 s); run chrony or NTP on \
                the gateway nodes of east and north (export conflicts, oldest first, and propagation times compare their clocks)
                  out-3 to edge: unknown: no estimate yet (it takes two heartbeats), or edge's gateway is older and sends no wall clock
                """, check.text());
        String fail = GatewayChecks.clockSkew(status("west", 31_000)).text();
        assertTrue(fail.startsWith("clock skew: FAIL: a peer's clock is 30 s or more from this gateway's"), fail);
        assertTrue(fail.contains("west's clock is 31.000 s ahead of this gateway's (±0.000 s); fix it now: run chrony or "
                + "NTP on the gateway nodes of east and west"), fail);
        assertEquals("clock skew: unknown: the gateway has no peer links\n", GatewayChecks.clockSkew(status()).text());
    }

    @Test
    void aFailedSkewCheckExitsOneAndAGatewayThatCannotBeReachedIsNotChecked(@TempDir Path dir) throws Exception {
        HttpServer admin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        byte[] body = JSON.writeValueAsBytes(status("west", 40_000));
        admin.createContext("/api/v1/status", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        admin.start();
        int port = admin.getAddress().getPort();
        try {
            Cli failed = Cli.run("diagnose", "--sysfs-root", dir.toString(), "--admin", "http://127.0.0.1:" + port);
            assertEquals(1, failed.exitCode(), failed.toString());
            assertTrue(failed.out().contains("clock skew: FAIL: "), failed.out());
        } finally {
            admin.stop(0);
        }
        // the port is free again: nothing answers there
        Cli unreachable = Cli.run("diagnose", "--sysfs-root", dir.toString(), "--admin", "http://127.0.0.1:" + port);
        assertEquals(0, unreachable.exitCode(), unreachable.toString());
        assertTrue(unreachable.out().contains("gateway checks (clock skew, certificates, cidr overlaps, mtu, links): not checked: cannot reach the gateway's admin API at "
                + "http://127.0.0.1:" + port + "/ (connection refused)"), unreachable.out());
    }
}
