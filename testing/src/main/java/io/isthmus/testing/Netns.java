package io.isthmus.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Network namespaces a test creates (with {@code ip netns}) and must delete, also on failure: {@link #close()}
 * deletes every namespace made through this instance. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
 */
public final class Netns implements AutoCloseable {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final List<String> created = new ArrayList<>();
    private final String prefix;

    public Netns(String prefix) {
        this.prefix = prefix + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
    }

    /** Creates namespace PREFIX-RANDOM-suffix; its path is /var/run/netns/NAME. */
    public String create(String suffix) {
        String name = prefix + "-" + suffix;
        ip("netns", "add", name);
        created.add(name);
        return name;
    }

    public static String path(String name) {
        return "/var/run/netns/" + name;
    }

    /** Runs {@code ip ARGS...} and returns its stdout; fails the test with ip's stderr when it fails. */
    public static String ip(String... args) {
        List<String> command = new ArrayList<>();
        command.add("ip");
        command.addAll(List.of(args));
        return run(command);
    }

    /** {@code ip -n NS -j addr show dev IFNAME}: the global addresses of an interface as ADDRESS/PREFIX. */
    public static List<String> addresses(String netns, String ifname) {
        List<String> addresses = new ArrayList<>();
        try {
            JsonNode links = JSON.readTree(ip("-n", netns, "-j", "addr", "show", "dev", ifname));
            for (JsonNode link : links) {
                for (JsonNode info : link.path("addr_info")) {
                    if (!info.path("scope").asText().equals("global")) {
                        continue; // the kernel's fe80:: link-local address is not ours
                    }
                    addresses.add(info.path("local").asText() + "/" + info.path("prefixlen").asInt());
                }
            }
        } catch (IOException e) {
            throw new AssertionError("ip -j printed no JSON", e);
        }
        return addresses;
    }

    public static boolean hasLink(String netns, String ifname) {
        Process process;
        try {
            process = new ProcessBuilder("ip", "-n", netns, "link", "show", "dev", ifname).redirectErrorStream(true).start();
            process.getInputStream().readAllBytes();
            return process.waitFor() == 0;
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public static String run(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).start();
            byte[] err = process.getErrorStream().readAllBytes();
            byte[] out = process.getInputStream().readAllBytes();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(command + " did not finish within 30 s");
            }
            if (process.exitValue() != 0) {
                throw new AssertionError(command + " failed (exit " + process.exitValue() + "): "
                        + new String(err, StandardCharsets.UTF_8).strip() + (isRoot() ? "" : " (the test needs root)"));
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    @Override
    public void close() {
        AssertionError first = null;
        for (String name : created.reversed()) {
            try {
                ip("netns", "del", name);
            } catch (AssertionError e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        created.clear();
        if (first != null) {
            throw first;
        }
    }
}
