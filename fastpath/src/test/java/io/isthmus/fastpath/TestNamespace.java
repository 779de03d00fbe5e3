package io.isthmus.fastpath;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace a test makes with {@code ip netns add} and deletes on {@link #close()} (which also removes
 * every device made inside). Also runs {@code ip} and {@code sysctl} inside it to check what the code under test did;
 * the code under test itself never runs {@code ip}.
 */
final class TestNamespace implements AutoCloseable {
    private final String name;
    private final NetNamespace namespace;

    private TestNamespace(String name) {
        this.name = name;
        this.namespace = NetNamespace.named(name);
    }

    static TestNamespace create(String prefix) throws IOException, InterruptedException {
        String name = prefix + "-" + ProcessHandle.current().pid() + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20));
        run(List.of("ip", "netns", "add", name));
        TestNamespace created = new TestNamespace(name);
        created.ip("link", "set", "lo", "up");
        return created;
    }

    String name() {
        return name;
    }

    NetNamespace namespace() {
        return namespace;
    }

    /** {@code ip -n NAME ARGS...}; its standard output. */
    String ip(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("ip", "-n", name));
        command.addAll(List.of(args));
        return run(command);
    }

    /** {@code ip netns exec NAME sysctl -qw KEY=VALUE}. */
    void sysctl(String key, String value) throws IOException, InterruptedException {
        run(List.of("ip", "netns", "exec", name, "sysctl", "-qw", key + "=" + value));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run(List.of("ip", "netns", "del", name));
    }

    static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish in 20 s");
        }
        String text = new String(output, StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited " + process.exitValue() + ": " + text);
        }
        return text;
    }
}
