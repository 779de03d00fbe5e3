package io.isthmus.api.ipam;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OwnerTest {
    private static final ClusterId EAST = ClusterId.of("east");

    @Test
    void stickyKindsAreIdentifiedWithoutTheirUid() {
        Owner web0 = Owner.of(EAST, "shop", OwnerKind.STATEFUL_POD, "web-0", "uid-1");
        assertEquals("east/shop/StatefulSetPod/web-0", web0.identity());
        assertEquals(web0.identity(), web0.withUid("uid-2").identity());
        Owner vm = Owner.of(EAST, "vms", OwnerKind.VIRTUAL_MACHINE, "db", "i-1");
        assertEquals(vm.identity(), vm.withUid("i-2").identity(), "a VM keeps its identity across migration");
    }

    @Test
    void plainPodsAreIdentifiedWithTheirUid() {
        Owner pod = Owner.of(EAST, "shop", OwnerKind.POD, "cart-7d9f", "uid-1");
        assertEquals("east/shop/Pod/cart-7d9f#uid-1", pod.identity());
        assertNotEquals(pod.identity(), pod.withUid("uid-2").identity());
    }

    @Test
    void badOwnersNameTheirField() {
        InvalidFieldException ns = assertThrows(InvalidFieldException.class,
                () -> Owner.of(EAST, "Shop", OwnerKind.POD, "a", "u"));
        assertEquals("owner.namespace", ns.field());
        InvalidFieldException name = assertThrows(InvalidFieldException.class,
                () -> Owner.of(EAST, "shop", OwnerKind.POD, "a/b", "u"));
        assertEquals("owner.name", name.field());
        assertEquals("a/b", name.value());
        InvalidFieldException uid = assertThrows(InvalidFieldException.class,
                () -> Owner.of(EAST, "shop", OwnerKind.POD, "a", "u#1"));
        assertEquals("owner.uid", uid.field());
        InvalidFieldException kind = assertThrows(InvalidFieldException.class, () -> OwnerKind.parse("owner.kind", "Deployment"));
        assertTrue(kind.getMessage().contains("StatefulSetPod"), kind.getMessage());
        assertEquals(OwnerKind.VIRTUAL_MACHINE, OwnerKind.parse("owner.kind", "virtualmachine"));
    }

    @Test
    void requestsTakeAtMostOneAddressAndOneRangePerFamily() {
        Owner a = Owner.of(EAST, "shop", OwnerKind.POD, "a", "u");
        InvalidFieldException ips = assertThrows(InvalidFieldException.class, () -> AllocationRequest.exactly(a,
                IpLiteral.parse("ip", "10.0.0.1"), IpLiteral.parse("ip", "10.0.0.2")));
        assertEquals("request.ip", ips.field());
        InvalidFieldException ranges = assertThrows(InvalidFieldException.class, () -> new AllocationRequest(a, List.of(),
                List.of(io.isthmus.api.Cidr.parse("r", "10.0.0.0/24"), io.isthmus.api.Cidr.parse("r", "10.1.0.0/24"))));
        assertEquals("request.range", ranges.field());
        assertThrows(InvalidFieldException.class, () -> AllocationRequest.any(null));
    }

    @Test
    void leasedAddressesPrintInCanonicalForm() {
        LeasedAddress v6 = new LeasedAddress(IpLiteral.parse("ip", "fd00:8:0:0:0:0:0:1"),
                io.isthmus.api.Cidr.parse("c", "fd00:8::/64"), null);
        assertEquals("fd00:8::1/64", v6.withPrefix());
    }
}
