package io.isthmus.gateway.admin;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The role each admin route needs, as the issue and the operator's guide state it (written out, not derived). */
class AdminRouteRolesTest {
    @ParameterizedTest(name = "{0} {1} needs {2}")
    @CsvSource({
            "GET,    /healthz,                               open",
            "GET,    /readyz,                                open",
            "GET,    /metrics,                               viewer",
            "GET,    /api/v1/status,                         viewer",
            "GET,    /api/v1/exports,                        viewer",
            "GET,    /api/v1/imports,                        viewer",
            "GET,    /api/v1/ipam/pools/pods/leases,         viewer",
            "GET,    /api/v1/ipam/segments,                  viewer",
            "GET,    /api/v1/events,                         viewer",
            "GET,    /dashboard,                             viewer",
            "GET,    /dashboard/dashboard.js,                viewer",
            "HEAD,   /api/v1/status,                         viewer",
            "POST,   /api/v1/exports,                        operator",
            "DELETE, /api/v1/exports/shop/cart,              operator",
            "POST,   /api/v1/ipam/pools/pods/allocations,    operator",
            "POST,   /api/v1/ipam/pools/pods/releases,       operator",
            "POST,   /api/v1/ipam/pools,                     admin",
            "DELETE, /api/v1/ipam/pools/pods,                admin",
            "POST,   /api/v1/ipam/pools/pods/reclaim,        admin",
            "POST,   /api/v1/ipam/pools/a/b/allocations,     admin",
            "POST,   /api/v1/ipam/segments,                  admin",
            "POST,   /api/v1/ipam/registrations,             admin",
            "DELETE, /api/v1/ipam/registrations,             admin",
            "POST,   /api/v1/mesh/crl,                       admin",
            "GET,    /api/v1/policies,                       viewer",
            "GET,    /api/v1/policies/deny-all,              viewer",
            "POST,   /api/v1/policies,                       admin",
            "DELETE, /api/v1/policies/deny-all,              admin",
            "DELETE, /api/v1/policies,                       admin",
            "PUT,    /api/v1/something-new,                  admin",
            "POST,   /isthmus.ipam.v1.Ipam/ListPools,        viewer",
            "POST,   /isthmus.ipam.v1.Ipam/ListLeases,       viewer",
            "POST,   /isthmus.ipam.v1.Ipam/GetAddressPlan,   viewer",
            "POST,   /isthmus.ipam.v1.Ipam/Allocate,         operator",
            "POST,   /isthmus.ipam.v1.Ipam/Release,          operator",
            "POST,   /isthmus.ipam.v1.Ipam/CreatePool,       admin",
            "POST,   /isthmus.ipam.v1.Ipam/Reclaim,          admin",
            "POST,   /isthmus.ipam.v1.Ipam/ClaimSegment,     admin",
            "POST,   /isthmus.ipam.v1.Ipam/SomethingNew,     admin",
    })
    void eachRouteNeedsTheLeastRoleThatMayUseIt(String method, String path, String role) {
        Optional<AdminRole> expected = role.equals("open") ? Optional.empty()
                : Optional.of(AdminRole.parse("role", role));
        assertEquals(expected, AdminGuard.requiredRole(method, path, false));
    }

    @ParameterizedTest
    @CsvSource({"viewer, viewer, true", "viewer, operator, false", "operator, viewer, true",
            "operator, admin, false", "admin, operator, true", "admin, admin, true"})
    void aRoleIncludesTheRolesBelowIt(String held, String needed, boolean allowed) {
        assertEquals(allowed, AdminRole.parse("role", held).includes(AdminRole.parse("role", needed)));
    }

    @org.junit.jupiter.api.Test
    void metricsMayBeOpenedForAScraper() {
        assertEquals(Optional.empty(), AdminGuard.requiredRole("GET", "/metrics", true));
        assertEquals(Optional.of(AdminRole.VIEWER), AdminGuard.requiredRole("GET", "/api/v1/status", true));
    }
}
