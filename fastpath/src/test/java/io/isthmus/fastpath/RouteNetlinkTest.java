package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** rtnetlink against a TUN device in a namespace the test makes; every result checked with {@code ip -j}. */
class RouteNetlinkTest {
    private static final String DEVICE = "isthrt";

    private TestNamespace ns;
    private TunDevice tun;
    private RouteNetlink netlink;

    @BeforeEach
    void createTunInANamespace() throws Exception {
        ns = TestNamespace.create("isthmus-rtnl");
        tun = ns.namespace().call(() -> TunDevice.open(DEVICE, TunDevice.Options.defaults()));
        netlink = ns.namespace().call(RouteNetlink::open);
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        try {
            if (netlink != null) {
                netlink.close();
            }
            if (tun != null) {
                tun.close();
            }
        } finally {
            if (ns != null) {
                ns.close();
            }
        }
    }

    @Test
    void setsMtuAddressesAndLinkStateAsIpSeesThem() throws Exception {
        netlink.setMtu(DEVICE, 1400);
        netlink.addAddress(DEVICE, IpPrefix.parse("10.9.0.1/24"));
        netlink.addAddress(DEVICE, IpPrefix.parse("fd00:9::1/64"));
        netlink.setUp(DEVICE, true);

        String link = ns.ip("-j", "addr", "show", "dev", DEVICE);
        assertTrue(link.contains("\"mtu\":1400"), link);
        assertTrue(link.contains("\"flags\":[\"POINTOPOINT\",\"MULTICAST\",\"NOARP\",\"UP\""), link);
        assertTrue(link.contains("\"local\":\"10.9.0.1\",\"prefixlen\":24"), link);
        assertTrue(link.contains("\"local\":\"fd00:9::1\",\"prefixlen\":64"), link);
        assertTrue(netlink.addresses(DEVICE).containsAll(
                List.of(IpPrefix.parse("10.9.0.1/24"), IpPrefix.parse("fd00:9::1/64"))), netlink.addresses(DEVICE)
                .toString());
        assertTrue(netlink.linkIndex(DEVICE) > 1);

        netlink.deleteAddress(DEVICE, IpPrefix.parse("10.9.0.1/24"));
        netlink.setUp(DEVICE, false);
        link = ns.ip("-j", "addr", "show", "dev", DEVICE);
        assertFalse(link.contains("10.9.0.1"), link);
        assertFalse(link.contains("\"UP\""), link);
    }

    @Test
    void anAddedAddressBecomesLocalAndOneNotAssignedIsNot() throws Exception {
        netlink.addAddress(DEVICE, IpPrefix.parse("10.9.0.1/24"));
        netlink.addAddress(DEVICE, IpPrefix.parse("fd00:9::1/64"));
        netlink.setUp(DEVICE, true);

        netlink.awaitUsable(parse("fd00:9::1"), java.time.Duration.ofSeconds(5));
        assertTrue(netlink.isLocal(parse("10.9.0.1")));
        assertTrue(netlink.isLocal(parse("fd00:9::1")));
        assertFalse(netlink.isLocal(parse("10.9.0.2")));
        assertFalse(netlink.isLocal(parse("192.0.2.1")), "no route at all is not local either");
        SystemCallException e = assertThrows(SystemCallException.class,
                () -> netlink.awaitUsable(parse("10.9.0.3"), java.time.Duration.ofMillis(50)));
        assertEquals("address 10.9.0.3 did not become usable within 50 ms: is it assigned to a device that is up?",
                e.getMessage());
    }

    @Test
    void addsReplacesListsAndDeletesIpv4AndIpv6Routes() throws Exception {
        netlink.addAddress(DEVICE, IpPrefix.parse("10.9.0.1/24"));
        netlink.addAddress(DEVICE, IpPrefix.parse("fd00:9::1/64"));
        netlink.setUp(DEVICE, true);

        netlink.addRoute(Route.to(IpPrefix.parse("10.20.0.0/16"), DEVICE));
        netlink.addRoute(Route.to(IpPrefix.parse("fd00:20::/48"), DEVICE));
        netlink.addRoute(Route.to(IpPrefix.parse("10.30.0.0/16"), DEVICE)
                .via(InetAddress.getByName("10.9.0.2")).inTable(100).withMetric(50));
        netlink.addRoute(Route.to(IpPrefix.parse("fd00:30::/48"), DEVICE)
                .via(InetAddress.getByName("fd00:9::2")).inTable(100).withMetric(7));

        assertHasRoute(ns.ip("-j", "route", "show"), "\"dst\":\"10.20.0.0/16\"", "\"dev\":\"isthrt\"",
                "\"protocol\":\"static\"", "\"scope\":\"link\"");
        assertHasRoute(ns.ip("-j", "-6", "route", "show"), "\"dst\":\"fd00:20::/48\"", "\"dev\":\"isthrt\"");
        assertHasRoute(ns.ip("-j", "route", "show", "table", "100"), "\"dst\":\"10.30.0.0/16\"",
                "\"gateway\":\"10.9.0.2\"", "\"dev\":\"isthrt\"", "\"metric\":50");
        assertHasRoute(ns.ip("-j", "-6", "route", "show", "table", "100"), "\"dst\":\"fd00:30::/48\"",
                "\"gateway\":\"fd00:9::2\"", "\"metric\":7");

        List<Route> table100 = netlink.routes(100);
        assertTrue(table100.contains(Route.to(IpPrefix.parse("10.30.0.0/16"), DEVICE)
                .via(InetAddress.getByName("10.9.0.2")).inTable(100).withMetric(50)), table100.toString());
        assertTrue(netlink.routes(Route.MAIN_TABLE).stream()
                .anyMatch(r -> r.destination().equals(IpPrefix.parse("fd00:20::/48")) && r.metric() == 1024),
                netlink.routes(Route.MAIN_TABLE).toString());

        netlink.replaceRoute(Route.to(IpPrefix.parse("10.20.0.0/16"), DEVICE).via(InetAddress.getByName("10.9.0.3")));
        String replaced = ns.ip("-j", "route", "show", "10.20.0.0/16");
        assertHasRoute(replaced, "\"dst\":\"10.20.0.0/16\"", "\"gateway\":\"10.9.0.3\"");
        assertEquals(1, replaced.split("\"dst\"").length - 1, "replace must not add a second route: " + replaced);

        netlink.deleteRoute(Route.to(IpPrefix.parse("10.20.0.0/16"), DEVICE));
        netlink.deleteRoute(Route.to(IpPrefix.parse("fd00:30::/48"), DEVICE).inTable(100));
        assertFalse(ns.ip("-j", "route", "show").contains("10.20.0.0/16"));
        assertFalse(ns.ip("-j", "-6", "route", "show", "table", "100").contains("fd00:30::/48"));
    }

    @Test
    void addingARouteThatExistsSaysSoAndDeletingAMissingOneToo() throws Exception {
        netlink.setUp(DEVICE, true);
        Route route = Route.to(IpPrefix.parse("10.40.0.0/16"), DEVICE);
        netlink.addRoute(route);

        SystemCallException exists = assertThrows(SystemCallException.class, () -> netlink.addRoute(route));
        assertTrue(exists.alreadyExists());
        assertEquals("adding route 10.40.0.0/16 dev isthrt failed: EEXIST; route already exists: replace it instead,"
                + " or delete it first", exists.getMessage().replaceAll(" \\(kernel: .*\\)$", ""));

        netlink.deleteRoute(route);
        SystemCallException missing = assertThrows(SystemCallException.class, () -> netlink.deleteRoute(route));
        assertTrue(missing.getMessage().startsWith("deleting route 10.40.0.0/16 dev isthrt failed: ESRCH; no such"
                + " route"), missing.getMessage());
    }

    @Test
    void routesCarryTheirProtocolAndAnAddOrADeleteWithOursLeavesSomeoneElsesRouteAlone() throws Exception {
        netlink.setUp(DEVICE, true);
        int ours = 73;
        // someone else's routes, made with ip(8): one IPv4, one IPv6
        ns.ip("route", "add", "10.60.0.0/16", "dev", DEVICE, "proto", "boot");
        ns.ip("-6", "route", "add", "fd00:60::/48", "dev", DEVICE, "proto", "boot");
        netlink.addRoute(Route.to(IpPrefix.parse("10.61.0.0/16"), DEVICE).withProtocol(ours));
        assertHasRoute(ns.ip("-j", "route", "show", "10.61.0.0/16"), "\"protocol\":\"73\"");

        List<Route> main = netlink.routes(Route.MAIN_TABLE);
        assertTrue(main.contains(Route.to(IpPrefix.parse("10.61.0.0/16"), DEVICE).withProtocol(ours)), main.toString());
        assertTrue(main.stream().anyMatch(r -> r.destination().equals(IpPrefix.parse("10.60.0.0/16"))
                && r.protocol() == 3), main.toString());

        for (String foreign : List.of("10.60.0.0/16", "fd00:60::/48")) {
            Route mine = Route.to(IpPrefix.parse(foreign), DEVICE).withProtocol(ours);
            SystemCallException exists = assertThrows(SystemCallException.class, () -> netlink.addRoute(mine));
            assertTrue(exists.alreadyExists(), exists.getMessage());
            SystemCallException notOurs = assertThrows(SystemCallException.class, () -> netlink.deleteRoute(mine));
            assertEquals(Errno.ESRCH, notOurs.errno(), notOurs.getMessage());
        }
        // still there (ip -j leaves out the protocol boot, its own default)
        assertHasRoute(ns.ip("-j", "route", "show", "10.60.0.0/16"), "\"dst\":\"10.60.0.0/16\"");
        assertHasRoute(ns.ip("-j", "-6", "route", "show", "fd00:60::/48"), "\"dst\":\"fd00:60::/48\"");
        netlink.deleteRoute(Route.to(IpPrefix.parse("10.61.0.0/16"), DEVICE).withProtocol(ours));
        assertFalse(ns.ip("-j", "route", "show").contains("10.61.0.0/16"));
    }

    @Test
    void aRouteIntoAMissingDeviceNamesTheDevice() {
        SystemCallException e = assertThrows(SystemCallException.class,
                () -> netlink.addRoute(Route.to(IpPrefix.parse("10.50.0.0/16"), "nosuch0")));
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(e.getMessage().startsWith("adding route 10.50.0.0/16 dev nosuch0: looking up device nosuch0"
                + " failed: ENODEV; no such network device in this network namespace"), e.getMessage());
    }

    @Test
    void aGatewayOffTheDevicesNetworksIsExplainedWithTheKernelsWords() throws Exception {
        netlink.setUp(DEVICE, true);
        SystemCallException e = assertThrows(SystemCallException.class, () -> netlink.addRoute(
                Route.to(IpPrefix.parse("10.60.0.0/16"), DEVICE).via(InetAddress.getByName("192.0.2.1"))));
        assertTrue(e.getMessage().startsWith("adding route 10.60.0.0/16 via 192.0.2.1 dev isthrt failed: "),
                e.getMessage());
        assertTrue(e.getMessage().contains("(kernel: "), "the extended ack should explain: " + e.getMessage());
    }

    @Test
    void badInputIsRefusedBeforeTheKernelIsAsked() {
        InvalidArgumentException mtu = assertThrows(InvalidArgumentException.class, () -> netlink.setMtu(DEVICE, 40));
        assertEquals("invalid mtu '40': must be between 68 and 65535 (IPv6 needs 1280 or more)", mtu.getMessage());
        InvalidArgumentException hostBits = assertThrows(InvalidArgumentException.class,
                () -> Route.to(IpPrefix.parse("10.70.0.1/16"), DEVICE));
        assertEquals("invalid route destination '10.70.0.1/16': has host bits set: did you mean 10.70.0.0/16?",
                hostBits.getMessage());
        assertThrows(InvalidArgumentException.class, () -> IpPrefix.parse("10.0.0.0/33"));
        assertThrows(InvalidArgumentException.class, () -> IpPrefix.parse("example.com/24"));
        assertThrows(InvalidArgumentException.class, () -> Route.to(IpPrefix.parse("10.0.0.0/8"), DEVICE)
                .via(InetAddress.getLoopbackAddress()).via(parse("::1")));
        assertThrows(InvalidArgumentException.class, () -> netlink.setUp("", true));
    }

    @Test
    void theErrnoMappingTellsWhatToDo() {
        assertEquals("adding route 10.1.0.0/16 dev tun0 failed: EPERM; needs CAP_NET_ADMIN (run as root, or grant the"
                        + " process that capability)",
                Errno.networkFailure(Errno.Subject.ROUTE, "adding route 10.1.0.0/16 dev tun0", Errno.EPERM, null)
                        .getMessage());
        assertTrue(Errno.networkFailure(Errno.Subject.TUN, "creating tun device x", Errno.EACCES, null).notPermitted());
        assertEquals("setting link x up failed: ENODEV; no such network device in this network namespace: create it"
                        + " first, or check the name (kernel: Unknown device)",
                Errno.networkFailure(Errno.Subject.LINK, "setting link x up", Errno.ENODEV, "Unknown device")
                        .getMessage());
        assertTrue(Errno.networkFailure(Errno.Subject.TUN, "open", Errno.ENOENT, null).getMessage()
                .contains("modprobe tun"));
    }

    @Test
    void closedNetlinkRefusesRequests() {
        netlink.close();
        assertThrows(java.nio.channels.ClosedChannelException.class, () -> netlink.setUp(DEVICE, true));
        netlink.close();
    }

    private static InetAddress parse(String literal) {
        return IpPrefix.parseAddress(literal, "address");
    }

    /** Some route object in {@code json} has every fragment. */
    private static void assertHasRoute(String json, String... fragments) {
        boolean found = Arrays.stream(json.split("\\},\\{"))
                .anyMatch(object -> Arrays.stream(fragments).allMatch(object::contains));
        assertTrue(found, "no route with " + String.join(", ", fragments) + " in " + json);
    }
}
