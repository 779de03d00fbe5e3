package io.isthmus.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.exports.ExportChanges;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The body of {@code POST /api/v1/exports/batch}: {@code {"exports":[...],"unexports":["shop/old", ...]}}, each
 * export written as the body of {@code POST /api/v1/exports} ({@link ExportRequest}). Either list may be absent.
 * Errors name the entry and its field, {@code exports[12].ips[0]}, {@code unexports[3]}, and nothing is stored.
 */
public record ExportBatchRequest(List<ServiceExport> exports, List<ServiceKey> unexports) {
    public ExportBatchRequest {
        exports = List.copyOf(exports);
        unexports = List.copyOf(unexports);
    }

    public static ExportBatchRequest parse(JsonNode body, Instant now) {
        if (body == null || !body.isObject()) {
            throw new InvalidFieldException("body", body, "must be a JSON object with \"exports\" and/or \"unexports\"");
        }
        body.fieldNames().forEachRemaining(field -> {
            if (!field.equals("exports") && !field.equals("unexports")) {
                throw new InvalidFieldException(field, body.get(field), "is not a field of a batch; "
                        + "it has \"exports\" (a list of exports) and \"unexports\" (a list of namespace/name)");
            }
        });
        List<ServiceExport> exports = new ArrayList<>();
        List<JsonNode> exportNodes = ExportRequest.array(body, "exports");
        for (int i = 0; i < exportNodes.size(); i++) {
            try {
                exports.add(ExportRequest.parse(exportNodes.get(i), now));
            } catch (InvalidFieldException e) {
                throw e.as("exports[" + i + "]" + (e.field().equals("body") ? "" : "." + e.field()));
            }
        }
        List<ServiceKey> unexports = new ArrayList<>();
        List<JsonNode> unexportNodes = ExportRequest.array(body, "unexports");
        for (int i = 0; i < unexportNodes.size(); i++) {
            unexports.add(key("unexports[" + i + "]", unexportNodes.get(i)));
        }
        if (exports.isEmpty() && unexports.isEmpty()) {
            throw new InvalidFieldException("exports", "[]", "a batch needs at least one export or unexport");
        }
        ExportChanges.check(exports, unexports);
        return new ExportBatchRequest(exports, unexports);
    }

    /** {@code namespace/name}, as {@code isthmus status} prints services. */
    static ServiceKey key(String field, JsonNode node) {
        String text = node.isTextual() ? node.asText() : node.toString();
        int slash = text.indexOf('/');
        if (!node.isTextual() || slash < 0 || slash != text.lastIndexOf('/')) {
            throw new InvalidFieldException(field, text, "must be namespace/name, e.g. shop/cart");
        }
        try {
            return new ServiceKey(text.substring(0, slash), text.substring(slash + 1));
        } catch (InvalidFieldException e) {
            throw new InvalidFieldException(field, text, e.field() + " " + e.reason());
        }
    }
}
