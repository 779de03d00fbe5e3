package io.isthmus.k8s.crd;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ipam.PoolSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IpPoolSpecsTest {
    private static IPPoolSpec spec(List<String> cidrs, List<String> exclude, List<String> gateways,
                                   List<IPPoolSpec.PoolRoute> routes) {
        return new IPPoolSpec(null, cidrs, exclude, null, gateways, routes);
    }

    private static InvalidFieldException refused(String name, IPPoolSpec spec, String field, String value) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> IpPoolSpecs.toPoolSpec(name, spec));
        assertEquals(field, e.field(), e.getMessage());
        assertEquals(value, e.value(), e.getMessage());
        assertTrue(e.getMessage().contains(field), e.getMessage());
        return e;
    }

    @Test
    void aDualStackPoolWithEverythingBecomesThePoolSpec() {
        PoolSpec pool = IpPoolSpecs.toPoolSpec("pods", new IPPoolSpec("underlay", List.of("fd00:8::/64", "10.8.0.0/24"),
                List.of("10.8.0.200-10.8.0.254"), List.of("10.8.0.100"), List.of("10.8.0.1"),
                List.of(new IPPoolSpec.PoolRoute("0.0.0.0/0", "10.8.0.1"), new IPPoolSpec.PoolRoute("fd00::/8", null))));
        assertEquals(2, pool.cidrs().size());
        assertEquals("10.8.0.0/24", pool.cidrs().getFirst().toString(), "IPv4 first");
        assertEquals(1, pool.exclude().size());
        assertEquals(2, pool.routes().size());
        assertEquals("underlay", IpPoolSpecs.segmentKind(new IPPoolSpec("underlay", null, null, null, null, null)));
        assertEquals("pod", IpPoolSpecs.segmentKind(new IPPoolSpec(null, null, null, null, null, null)));
    }

    @Test
    void everyRefusalNamesTheFieldAsTheIpPoolSpellsIt() {
        refused("p", spec(List.of("10.8.0.1/24"), null, null, null), "spec.cidrs[0]", "10.8.0.1/24");
        refused("p", spec(List.of("10.8.0.0/24"), List.of("10.9.0.1-10.9.0.5"), null, null), "spec.exclude[0]", "10.9.0.1-10.9.0.5");
        refused("p", spec(List.of("10.8.0.0/24"), null, List.of("10.8.0.0"), null), "spec.gateways[0]", "10.8.0.0");
        refused("p", spec(List.of("10.8.0.0/24"), null, null, List.of(new IPPoolSpec.PoolRoute("fd00::/8", null))),
                "spec.routes[0]", "fd00::/8");
        refused("p", spec(List.of("10.8.0.0/24"), null, null, List.of(new IPPoolSpec.PoolRoute("0.0.0.0/0", "fd00::1"))),
                "spec.routes[0]", "0.0.0.0/0 via fd00::1");
        refused("Pods", spec(List.of("10.8.0.0/24"), null, null, null), "metadata.name", "Pods");
        refused("p", spec(List.of(), null, null, null), "spec.cidrs", "");
        InvalidFieldException kind = assertThrows(InvalidFieldException.class,
                () -> IpPoolSpecs.segmentKind(new IPPoolSpec("overlay", null, null, null, null, null)));
        assertEquals("spec.kind", kind.field());
    }

    @Test
    void ipamFieldNamesInMessagesBecomeTheIpPoolsOwn() {
        assertEquals("spec.gateways[1]", IpPoolSpecs.specField("pool.gateway[1]"));
        assertEquals("spec.cidrs", IpPoolSpecs.specField("pool.cidr"));
        assertEquals("owner.name", IpPoolSpecs.specField("owner.name"));
        assertEquals("invalid spec.exclude[2] 'x': no", IpPoolSpecs.specMessage("invalid pool.exclude[2] 'x': no"));
    }
}
