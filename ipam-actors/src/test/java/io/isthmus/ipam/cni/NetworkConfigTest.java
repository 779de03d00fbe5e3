package io.isthmus.ipam.cni;

import io.isthmus.testing.Netns;
import io.isthmus.testing.PluginRun;
import io.isthmus.api.Cidr;
import io.isthmus.api.IpLiteral;
import io.isthmus.ipam.cni.CniBackend.Addressing;
import io.isthmus.ipam.cni.CniBackend.AssignedIp;
import io.isthmus.ipam.cni.CniBackend.Route;
import io.isthmus.ipam.cni.NetworkConfig.CniVersion;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing and validation of network configs and CNI_* variables, and the result format per version. */
class NetworkConfigTest {

    private static NetworkConfig parse(String json) throws CniCallException {
        return NetworkConfig.parse(json.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    private static CniCallException refused(String json) {
        return assertThrows(CniCallException.class, () -> parse(json));
    }

    @Test
    void readsVersionNetworkPoolAndRequestedAddressesFromEveryConvention() throws CniCallException {
        NetworkConfig config = NetworkConfig.parse("""
                {"cniVersion": "0.3.1", "name": "podnet", "type": "bridge",
                 "ipam": {"type": "isthmus-ipam", "pool": "blue", "socket": "/run/x.sock"},
                 "args": {"cni": {"ips": ["10.0.0.5/24"]}},
                 "runtimeConfig": {"ips": ["10.0.0.6", "10.0.0.5"]}}""".getBytes(StandardCharsets.UTF_8),
                Map.of("IP", "10.0.0.7"));
        assertEquals(CniVersion.V0_3_1, config.version());
        assertEquals("podnet", config.network());
        assertEquals("blue", config.pool());
        assertEquals(List.of(ip("10.0.0.5"), ip("10.0.0.6"), ip("10.0.0.7")), config.requestedIps());
        assertEquals(Optional.empty(), config.previousAddresses());
    }

    @Test
    void eachKindOfMistakeHasItsCode() {
        assertEquals(CniErrorCode.DECODING_FAILURE, refused("{").code());
        assertEquals(CniErrorCode.DECODING_FAILURE, refused("{\"a\": 1, \"a\": 2}").code());
        assertEquals(CniErrorCode.DECODING_FAILURE, refused("\"text\"").code());
        assertEquals(CniErrorCode.INVALID_CONFIG, refused("{\"name\": \"n\", \"ipam\": {\"pool\": \"p\"}}").code());
        assertEquals(CniErrorCode.INCOMPATIBLE_VERSION,
                refused("{\"cniVersion\": \"0.2.0\", \"name\": \"n\", \"ipam\": {\"pool\": \"p\"}}").code());
        CniCallException noIpam = refused("{\"cniVersion\": \"1.0.0\", \"name\": \"n\"}");
        assertEquals(CniErrorCode.INVALID_CONFIG, noIpam.code());
        assertTrue(noIpam.details().contains("ipam"), noIpam.details());
        CniCallException noPool = refused("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"ipam\": {\"type\": \"isthmus-ipam\"}}");
        assertEquals(CniErrorCode.INVALID_CONFIG, noPool.code());
        assertTrue(noPool.details().contains("ipam.pool"), noPool.details());
        CniCallException numberPool = refused("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"ipam\": {\"pool\": 7}}");
        assertEquals(CniErrorCode.INVALID_CONFIG, numberPool.code());
        CniCallException unknownField = refused("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"ipam\": {\"pool\": \"p\", \"subnet\": \"10.0.0.0/8\"}}");
        assertEquals(CniErrorCode.UNSUPPORTED_FIELD, unknownField.code());
        assertTrue(unknownField.details().contains("ipam.subnet") && unknownField.details().contains("10.0.0.0/8"));
        CniCallException badIp = refused("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"ipam\": {\"pool\": \"p\"}, \"args\": {\"cni\": {\"ips\": [\"10.0.0.300\"]}}}");
        assertEquals(CniErrorCode.INVALID_CONFIG, badIp.code());
        assertTrue(badIp.details().contains("args.cni.ips"), badIp.details());
        assertEquals(CniErrorCode.INVALID_CONFIG,
                refused("{\"cniVersion\": \"1.0.0\", \"name\": \"-bad\", \"ipam\": {\"pool\": \"p\"}}").code());
    }

    @Test
    void prevResultAddressesAreNormalisedForComparison() throws CniCallException {
        NetworkConfig config = parse("""
                {"cniVersion": "1.0.0", "name": "n", "ipam": {"pool": "p"},
                 "prevResult": {"ips": [{"address": "fd00:0::5/64"}, {"address": "10.0.0.5/24"}]}}""");
        assertEquals(Optional.of(Set.of("fd00::5/64", "10.0.0.5/24")), config.previousAddresses());
    }

    @Test
    void theVersionOfAnErrorIsTheConfigsWhenWeSpeakIt() {
        assertEquals("0.4.0", NetworkConfig.versionText("{\"cniVersion\": \"0.4.0\"}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("1.1.0", NetworkConfig.versionText("{\"cniVersion\": \"7.0.0\"}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("1.1.0", NetworkConfig.versionText("garbage".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void theEnvironmentNeedsContainerIfnameAndForAddANetns() throws CniCallException {
        Map<String, String> args = CallEnvironment.parseArgs("IgnoreUnknown=1;K8S_POD_NAMESPACE=db;K8S_POD_NAME=pg-0;K8S_POD_UID=u1;");
        CallEnvironment env = CallEnvironment.of("abc123", "/var/run/netns/x", "eth0", args, true);
        assertEquals(Optional.of(new CniBackend.PodIdentity("db", "pg-0", "u1")), env.pod());
        assertEquals(Optional.empty(), CallEnvironment.of("abc", "", "eth0", Map.of(), false).pod());

        assertEquals(CniErrorCode.INVALID_ENVIRONMENT, assertThrows(CniCallException.class,
                () -> CallEnvironment.of("abc", "", "eth0", Map.of(), true)).code());
        assertTrue(assertThrows(CniCallException.class, () -> CallEnvironment.of("-x", "/n", "eth0", Map.of(), true))
                .details().contains("CNI_CONTAINERID"));
        assertTrue(assertThrows(CniCallException.class, () -> CallEnvironment.of("x", "/n", "", Map.of(), true))
                .details().contains("CNI_IFNAME"));
        assertTrue(assertThrows(CniCallException.class, () -> CallEnvironment.of("x", "/n", "eth0",
                Map.of("K8S_POD_NAME", "a"), true)).details().contains("K8S_POD_NAMESPACE"));
        assertTrue(assertThrows(CniCallException.class, () -> CallEnvironment.parseArgs("A=1;B"))
                .details().contains("CNI_ARGS"));
    }

    @Test
    void resultsFollowTheRequestedVersion() {
        Addressing addressing = new Addressing(
                List.of(new AssignedIp(ip("10.0.0.5"), 24, Optional.of(ip("10.0.0.1"))),
                        new AssignedIp(ip("fd00::5"), 64, Optional.empty())),
                List.of(new Route(Cidr.parse("dst", "0.0.0.0/0"), Optional.empty()),
                        new Route(Cidr.parse("dst", "fd10::/48"), Optional.of(ip("fd00::1")))));
        assertEquals("{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.0.0.5/24\",\"gateway\":\"10.0.0.1\"},"
                        + "{\"version\":\"6\",\"address\":\"fd00::5/64\"}],"
                        + "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"},{\"dst\":\"fd10::/48\",\"gw\":\"fd00::1\"}]}",
                CniResults.success(CniVersion.V0_4_0, addressing));
        assertEquals("{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.5/24\",\"gateway\":\"10.0.0.1\"},"
                        + "{\"address\":\"fd00::5/64\"}],"
                        + "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"},{\"dst\":\"fd10::/48\",\"gw\":\"fd00::1\"}]}",
                CniResults.success(CniVersion.V1_1_0, addressing));
        assertEquals("{\"cniVersion\":\"1.0.0\",\"code\":100,\"msg\":\"IP pool exhausted\",\"details\":\"pool p is full\"}",
                CniResults.error(CniVersion.V1_0_0, CniErrorCode.POOL_EXHAUSTED, "pool p is full"));
    }

    @Test
    void everyBackendRefusalMapsToACniCode() {
        assertEquals(100, CniErrorCode.of(CniBackendError.POOL_EXHAUSTED).code());
        assertEquals(7, CniErrorCode.of(CniBackendError.UNKNOWN_POOL).code());
        assertEquals(7, CniErrorCode.of(CniBackendError.BAD_REQUEST).code());
        assertEquals(101, CniErrorCode.of(CniBackendError.ADDRESS_IN_USE).code());
        assertEquals(102, CniErrorCode.of(CniBackendError.NOT_OWNER).code());
        assertEquals(11, CniErrorCode.of(CniBackendError.RESERVATION_EXPIRED).code());
        assertEquals(11, CniErrorCode.of(CniBackendError.UNAVAILABLE).code());
    }

    private static java.net.InetAddress ip(String text) {
        return IpLiteral.parse("test", text);
    }

    @Test
    void anSriovSectionNamesThePhysicalFunctionToTakeAVfFrom() throws CniCallException {
        NetworkConfig config = parse("""
                {"cniVersion": "1.1.0", "name": "fastnet", "type": "sriov",
                 "ipam": {"type": "isthmus-ipam", "pool": "blue", "sriov": {"pf": "enp59s0f0"}}}""");
        assertEquals(Optional.of("enp59s0f0"), config.vfFrom());
        assertEquals(Optional.empty(), parse("""
                {"cniVersion": "1.1.0", "name": "n", "ipam": {"pool": "blue"}}""").vfFrom());

        CniCallException typo = refused("""
                {"cniVersion": "1.1.0", "name": "n", "ipam": {"pool": "blue", "sriov": {"pf": "eth1", "vlna": 5}}}""");
        assertEquals(CniErrorCode.UNSUPPORTED_FIELD, typo.code());
        assertEquals("ipam.sriov.vlna = 5 is not a field of isthmus-ipam (it knows [pf])", typo.details());
        for (String pf : List.of("\"\"", "\"../eth1\"", "\"sixteen-bytes-xx\"", "7", "\"eth 1\"")) {
            CniCallException bad = refused("""
                    {"cniVersion": "1.1.0", "name": "n", "ipam": {"pool": "blue", "sriov": {"pf": %s}}}""".formatted(pf));
            assertEquals(CniErrorCode.INVALID_CONFIG, bad.code(), pf);
            assertEquals("ipam.sriov.pf must name the physical function's network device on the node (1-15 bytes,"
                    + " no '/', ':' or spaces), got " + pf, bad.details());
        }
        CniCallException notAnObject = refused("""
                {"cniVersion": "1.1.0", "name": "n", "ipam": {"pool": "blue", "sriov": "eth1"}}""");
        assertEquals(CniErrorCode.INVALID_CONFIG, notAnObject.code());
        assertTrue(notAnObject.details().startsWith("ipam.sriov must be an object"), notAnObject.details());
    }

    @Test
    void aResultWithAVfNamesThePodsInterfaceWithTheVfsMacAndPciAddress() {
        Addressing addressing = new Addressing(List.of(new AssignedIp(ip("10.1.0.5"), 24, Optional.of(ip("10.1.0.1")))),
                List.of());
        CniBackend.Vf vf = new CniBackend.Vf("enp59s0f0", 2, "0000:3b:10.4", Optional.of("enp59s0f0v2"),
                Optional.of("02:00:00:00:01:02"));
        assertEquals("{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"net1\",\"mac\":\"02:00:00:00:01:02\","
                        + "\"pciID\":\"0000:3b:10.4\"}],\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\"}]}",
                CniResults.success(CniVersion.V1_1_0, addressing, Optional.of(vf), "net1"));
        CniBackend.Vf noNetdev = new CniBackend.Vf("enp59s0f0", 3, "0000:3b:10.6", Optional.empty(), Optional.empty());
        assertEquals("{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"pciID\":\"0000:3b:10.6\"}],"
                        + "\"ips\":[{\"version\":\"4\",\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\"}]}",
                CniResults.success(CniVersion.V0_4_0, addressing, Optional.of(noNetdev), "eth0"));
        assertEquals("{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\"}]}",
                CniResults.success(CniVersion.V1_1_0, addressing), "without a VF: no interfaces");
    }
}
