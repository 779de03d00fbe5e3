package io.isthmus.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.InvalidFieldException;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The export API names the JSON fields of its body in errors (and the index in a list), never CLI flags. */
class ExportRequestTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static InvalidFieldException refused(String body) {
        return assertThrows(InvalidFieldException.class, () -> ExportRequest.parse(JSON.readTree(body), Instant.EPOCH));
    }

    @Test
    void aBadPortIsNamedByItsIndexInPorts() {
        InvalidFieldException e = refused("{\"namespace\":\"shop\",\"name\":\"cart\",\"ports\":[\"80/TCP\",\"99999/TCP\"],"
                + "\"ips\":[\"10.96.0.10\"]}");
        assertEquals("ports[1]", e.field());
        assertEquals("99999/TCP", e.value());
    }

    @Test
    void aBadIpAndABadTargetClusterAreNamedByTheirIndex() {
        assertEquals("ips[0]", refused("{\"namespace\":\"shop\",\"name\":\"cart\",\"ports\":[\"80/TCP\"],"
                + "\"ips\":[\"10.0.0.256\"]}").field());
        assertEquals("to[1]", refused("{\"namespace\":\"shop\",\"name\":\"cart\",\"ports\":[\"80/TCP\"],"
                + "\"ips\":[\"10.96.0.10\"],\"to\":[\"west\",\"Not_A_Cluster\"]}").field());
    }

    @Test
    void missingAndMistypedFieldsAreNamedAsInTheBody() {
        assertEquals("namespace", refused("{\"name\":\"cart\",\"ports\":[\"80/TCP\"]}").field());
        assertEquals("namespace", refused("{\"namespace\":\"Shop\",\"name\":\"cart\",\"ports\":[\"80/TCP\"]}").field());
        assertEquals("ports", refused("{\"namespace\":\"shop\",\"name\":\"cart\",\"ports\":\"80/TCP\"}").field());
        assertEquals("type", refused("{\"namespace\":\"shop\",\"name\":\"cart\",\"type\":\"NodePort\","
                + "\"ports\":[\"80/TCP\"]}").field());
    }

    @Test
    void checksOfTheWholeExportNameTheListTheyConcern() {
        // Two IPs for a ClusterSetIP export: no single element is wrong, the list is.
        assertEquals("ips", refused("{\"namespace\":\"shop\",\"name\":\"cart\",\"ports\":[\"80/TCP\"],"
                + "\"ips\":[\"10.96.0.10\",\"10.96.0.11\"]}").field());
        assertEquals("ports", refused("{\"namespace\":\"shop\",\"name\":\"cart\",\"ports\":[],\"ips\":[\"10.96.0.10\"]}")
                .field());
    }
}
