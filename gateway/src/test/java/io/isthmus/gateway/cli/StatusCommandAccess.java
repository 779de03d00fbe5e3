package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;

/** Lets tests of other packages see what `isthmus status` prints for a status API answer. */
public final class StatusCommandAccess {
    private StatusCommandAccess() {
    }

    public static String render(JsonNode status) {
        return StatusCommand.render(status, Instant.now());
    }
}
