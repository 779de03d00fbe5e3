package io.isthmus.gateway.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.exports.ExportChanges;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The batch body: its errors name the entry and the field inside it. */
class ExportBatchRequestTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CART = "{\"namespace\":\"shop\",\"name\":\"cart\",\"ports\":[\"80/TCP\"],\"ips\":[\"10.96.0.10\"]}";

    private static ExportBatchRequest parse(String body) throws Exception {
        return ExportBatchRequest.parse(JSON.readTree(body), Instant.EPOCH);
    }

    private static InvalidFieldException refused(String body) {
        return assertThrows(InvalidFieldException.class, () -> parse(body));
    }

    @Test
    void exportsAndUnexportsAreRead() throws Exception {
        ExportBatchRequest batch = parse("{\"exports\":[" + CART + "],\"unexports\":[\"shop/old\",\"web/x\"]}");
        assertEquals(1, batch.exports().size());
        assertEquals(new ServiceKey("shop", "cart"), batch.exports().getFirst().key());
        assertEquals(List.of(new ServiceKey("shop", "old"), new ServiceKey("web", "x")), batch.unexports());
        assertEquals(0, parse("{\"unexports\":[\"shop/old\"]}").exports().size(), "either list may be absent");
    }

    @Test
    void errorsNameTheEntryAndItsField() {
        assertEquals("exports[1].ports[0]", refused("{\"exports\":[" + CART + ",{\"namespace\":\"shop\",\"name\":\"db\","
                + "\"ports\":[\"99999/TCP\"]}]}").field());
        assertEquals("exports[0].namespace", refused("{\"exports\":[{\"name\":\"db\",\"ports\":[\"80/TCP\"]}]}").field());
        assertEquals("exports[0]", refused("{\"exports\":[\"shop/cart\"]}").field());
        InvalidFieldException badKey = refused("{\"unexports\":[\"shop/cart\",\"Shop/cart\"]}");
        assertEquals("unexports[1]", badKey.field());
        assertEquals("Shop/cart", badKey.value());
        assertEquals("unexports[0]", refused("{\"unexports\":[\"cart\"]}").field());
        assertEquals("unexports[0]", refused("{\"unexports\":[{\"namespace\":\"shop\"}]}").field());
        assertEquals("exports", refused("{\"exports\":{}}").field());
        assertEquals("exports", refused("{}").field(), "an empty batch is a mistake");
        assertEquals("unexport", refused("{\"unexport\":[\"shop/cart\"]}").field(), "a misspelt list is named");
        assertEquals("body", refused("[]").field());
    }

    @Test
    void aServiceNamedTwiceIsRefusedNamingBothPlaces() {
        InvalidFieldException e = refused("{\"exports\":[" + CART + "],\"unexports\":[\"shop/cart\"]}");
        assertEquals("unexports[0]", e.field());
        assertEquals("shop/cart", e.value());
        assertEquals("names the same service as exports[0]; each service may appear once in a change", e.reason());
    }

    @Test
    void aChangeTooLargeIsRefused() {
        List<ServiceKey> many = new java.util.ArrayList<>();
        for (int i = 0; i <= ExportChanges.MAX_SERVICES; i++) {
            many.add(new ServiceKey("ns", "svc-" + i));
        }
        assertEquals("exports", assertThrows(InvalidFieldException.class,
                () -> ExportChanges.check(List.of(), many)).field());
    }
}
