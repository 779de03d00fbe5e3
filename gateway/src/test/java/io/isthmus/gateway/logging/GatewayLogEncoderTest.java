package io.isthmus.gateway.logging;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GatewayLogEncoderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Captures what reaches logback's logger {@code name} while {@code action} runs. */
    private static ListAppender<ILoggingEvent> capture(String name, Runnable action) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger logger = context.getLogger(name);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.setContext(context);
        appender.start();
        logger.addAppender(appender);
        try {
            action.run();
        } finally {
            logger.detachAppender(appender);
        }
        return appender;
    }

    private static GatewayLogEncoder encoder(String format) {
        GatewayLogEncoder encoder = new GatewayLogEncoder();
        encoder.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        encoder.setFormat(format);
        encoder.start();
        return encoder;
    }

    @Test
    void jsonFormatWritesOneObjectPerLineWithTimeLevelLoggerThreadMessageMdcAndException() throws Exception {
        ListAppender<ILoggingEvent> seen = capture("io.isthmus.gateway.test", () -> {
            MDC.put("cluster", "east");
            try {
                LoggerFactory.getLogger("io.isthmus.gateway.test").warn("pool \"pods\"\nis full",
                        new IllegalStateException("no address left"));
            } finally {
                MDC.remove("cluster");
            }
        });
        assertEquals(1, seen.list.size());
        String line = new String(encoder("json").encode(seen.list.getFirst()), StandardCharsets.UTF_8);
        assertTrue(line.endsWith("}\n") && line.indexOf('\n') == line.length() - 1, "one line: " + line);
        JsonNode object = JSON.readTree(line);
        assertFalse(Instant.parse(object.path("ts").asText()).isAfter(Instant.now()), line);
        assertEquals("WARN", object.path("level").asText());
        assertEquals("io.isthmus.gateway.test", object.path("logger").asText());
        assertEquals(Thread.currentThread().getName(), object.path("thread").asText());
        assertEquals("pool \"pods\"\nis full", object.path("message").asText());
        assertEquals("east", object.path("mdc").path("cluster").asText());
        assertTrue(object.path("exception").asText().contains("IllegalStateException: no address left"), line);
    }

    @Test
    void textFormatIsThePatternAndAnUnknownFormatIsRefusedNamingTheSettingAndValue() {
        ListAppender<ILoggingEvent> seen = capture("io.isthmus.gateway.test",
                () -> LoggerFactory.getLogger("io.isthmus.gateway.test").info("hello"));
        String line = new String(encoder("text").encode(seen.list.getFirst()), StandardCharsets.UTF_8);
        assertTrue(line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  .* - hello\\R"), line);
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> GatewayLogEncoder.chosenFormat(null, "yaml", null));
        assertTrue(refused.getMessage().contains("isthmus.log.format") && refused.getMessage().contains("yaml"),
                refused.getMessage());
        assertEquals("json", GatewayLogEncoder.chosenFormat(null, null, "JSON"));
        assertEquals("text", GatewayLogEncoder.chosenFormat(null, null, null));
    }

    /** The tunnel logs through System.Logger (its TunnelLog) under its class names; that must land in logback. */
    @Test
    void theTunnelsPlatformLoggerLinesReachTheSameLogbackLoggersAsTheRest() throws Exception {
        ListAppender<ILoggingEvent> seen = capture("io.isthmus.tunnel", () ->
                System.getLogger("io.isthmus.tunnel.PeerKeying").log(System.Logger.Level.WARNING,
                        "tunnel: cannot key %s".formatted("west")));
        assertEquals(1, seen.list.size(), "the platform logger's line reached logback");
        ILoggingEvent event = seen.list.getFirst();
        assertEquals("io.isthmus.tunnel.PeerKeying", event.getLoggerName());
        JsonNode object = JSON.readTree(encoder("json").encode(event));
        assertEquals("WARN", object.path("level").asText());
        assertEquals("tunnel: cannot key west", object.path("message").asText());
    }
}
