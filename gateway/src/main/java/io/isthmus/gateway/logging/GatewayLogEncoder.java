package io.isthmus.gateway.logging;

import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The gateway's log encoder: the human pattern by default; with {@code -Disthmus.log.format=json} (or
 * {@code ISTHMUS_LOG_FORMAT=json}) one JSON object per line, {@code ts, level, logger, thread, message, mdc} and,
 * for a failure, {@code exception} (its stack trace as text), for log shippers that parse lines. Chosen once at
 * start; an unknown format is refused naming the setting and the value.
 */
public final class GatewayLogEncoder extends EncoderBase<ILoggingEvent> {
    public static final String PROPERTY = "isthmus.log.format";
    public static final String ENV = "ISTHMUS_LOG_FORMAT";

    private String pattern = "%d{HH:mm:ss.SSS} %-5level %logger{24} - %msg%n";
    private String format;
    private PatternLayoutEncoder text;

    public void setPattern(String pattern) {
        this.pattern = pattern;
    }

    /** Overrides the property and the environment (tests, or a logback.xml that fixes the format). */
    public void setFormat(String format) {
        this.format = format;
    }

    static String chosenFormat(String configured, String property, String env) {
        String chosen = configured != null ? configured : property != null ? property : env != null ? env : "text";
        String normal = chosen.trim().toLowerCase(Locale.ROOT);
        if (!normal.equals("text") && !normal.equals("json")) {
            throw new IllegalArgumentException(PROPERTY + " (or " + ENV + ") must be text or json, not \"" + chosen + "\"");
        }
        return normal;
    }

    @Override
    public void start() {
        format = chosenFormat(format, System.getProperty(PROPERTY), System.getenv(ENV));
        if (format.equals("text")) {
            text = new PatternLayoutEncoder();
            text.setContext(getContext());
            text.setPattern(pattern);
            text.start();
        }
        super.start();
    }

    @Override
    public void stop() {
        if (text != null) {
            text.stop();
        }
        super.stop();
    }

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        if (text != null) {
            return text.encode(event);
        }
        return json(event).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }

    static String json(ILoggingEvent event) {
        StringBuilder out = new StringBuilder(256).append('{');
        field(out, "ts", Instant.ofEpochMilli(event.getTimeStamp()).toString()).append(',');
        field(out, "level", event.getLevel().toString()).append(',');
        field(out, "logger", event.getLoggerName()).append(',');
        field(out, "thread", event.getThreadName()).append(',');
        field(out, "message", event.getFormattedMessage()).append(',');
        quote(out, "mdc").append(":{");
        Map<String, String> mdc = event.getMDCPropertyMap() == null ? Map.of() : new TreeMap<>(event.getMDCPropertyMap());
        boolean first = true;
        for (Map.Entry<String, String> e : mdc.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            field(out, e.getKey(), e.getValue());
        }
        out.append('}');
        IThrowableProxy failure = event.getThrowableProxy();
        if (failure != null) {
            out.append(',');
            field(out, "exception", ThrowableProxyUtil.asString(failure));
        }
        return out.append("}\n").toString();
    }

    private static StringBuilder field(StringBuilder out, String name, String value) {
        quote(out, name).append(':');
        return value == null ? out.append("null") : quote(out, value);
    }

    private static StringBuilder quote(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"');
    }
}
