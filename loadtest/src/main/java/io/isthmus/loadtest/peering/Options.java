package io.isthmus.loadtest.peering;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --name value} options after a command; each name once. Values that name several things are
 * comma-separated ({@code --receivers west=http://127.0.0.1:7070,edge=...}).
 */
record Options(Map<String, String> values) {
    static Options parse(String[] args, int from) {
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = from; i < args.length; i++) {
            String name = args[i];
            if (!name.startsWith("--") || name.length() == 2) {
                throw new IllegalArgumentException("expected an option (--name value), got '" + name + "'");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            if (values.put(name.substring(2), args[++i]) != null) {
                throw new IllegalArgumentException(name + " is given twice");
            }
        }
        return new Options(values);
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    String required(String name) {
        String value = values.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }

    int integer(String name, int fallback, int min, int max) {
        String value = values.get(name);
        if (value == null) {
            return fallback;
        }
        int n;
        try {
            n = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + value + "'");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException("--" + name + " must be between " + min + " and " + max + ", got " + n);
        }
        return n;
    }

    long longValue(String name, long fallback) {
        String value = values.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + value + "'");
        }
    }

    Duration millis(String name, long fallback) {
        return Duration.ofMillis(integer(name, (int) fallback, 1, Integer.MAX_VALUE));
    }

    URI uri(String name) {
        return admin(required(name), "--" + name);
    }

    /** Comma-separated whole numbers, e.g. {@code 10,25,50}. */
    List<Integer> integers(String name, String fallback) {
        List<Integer> out = new ArrayList<>();
        for (String part : string(name, fallback).split(",")) {
            if (part.isBlank()) {
                continue;
            }
            try {
                out.add(Integer.parseInt(part.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + name + " takes whole numbers separated by commas, got '"
                        + part + "'");
            }
        }
        return out;
    }

    /** {@code name=value,name=value}, in the order given. */
    Map<String, String> pairs(String name) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String part : required(name).split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0 || eq == part.length() - 1) {
                throw new IllegalArgumentException("--" + name + " takes NAME=VALUE pairs separated by commas, got '"
                        + part + "'");
            }
            out.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
        return out;
    }

    static URI admin(String text, String what) {
        try {
            URI uri = URI.create(text.endsWith("/") ? text : text + "/");
            if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new IllegalArgumentException(what + " must be an http://host:port URL, got '" + text + "'");
            }
            return uri;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " must be an http://host:port URL, got '" + text + "'");
        }
    }

    /** {@code PORT} (on 127.0.0.1) or {@code HOST:PORT}. */
    static InetSocketAddress address(String text, String what) {
        String host = "127.0.0.1";
        String port = text.trim();
        int colon = port.lastIndexOf(':');
        if (colon >= 0) {
            host = port.substring(0, colon);
            port = port.substring(colon + 1);
        }
        try {
            int p = Integer.parseInt(port);
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
            return new InetSocketAddress(host, p);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be PORT or HOST:PORT, got '" + text + "'");
        }
    }
}
