package io.isthmus.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One CNI plugin execution the way a container runtime does it: a fresh process with only the CNI_* variables (and
 * PATH) in its environment, the network config on stdin, the result or error JSON on stdout.
 */
public record PluginRun(int exitCode, String stdout, String stderr, long nanos) {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Environment of one CNI call; build with {@link #command}. */
    public static final class Env {
        private final Map<String, String> vars = new LinkedHashMap<>();

        public Env set(String name, String value) {
            vars.put(name, value);
            return this;
        }

        public Env without(String name) {
            vars.remove(name);
            return this;
        }

        public Map<String, String> vars() {
            return vars;
        }
    }

    public static Env command(String command, String containerId, String netns, String ifname, String cniPath) {
        Env env = new Env().set("CNI_COMMAND", command).set("CNI_CONTAINERID", containerId).set("CNI_IFNAME", ifname)
                .set("CNI_PATH", cniPath);
        if (netns != null) {
            env.set("CNI_NETNS", netns);
        }
        return env;
    }

    public static PluginRun run(List<String> command, Env env, String stdin) {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().clear();
        builder.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        builder.environment().putAll(env.vars());
        long start = System.nanoTime();
        try {
            Process process = builder.start();
            CompletableFuture<String> out = drain(process.getInputStream());
            CompletableFuture<String> err = drain(process.getErrorStream());
            try (OutputStream in = process.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the plugin may exit before reading stdin (VERSION with no input needed); its output tells
            }
            if (!process.waitFor(Duration.ofSeconds(60).toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(command + " did not finish within 60 s");
            }
            long nanos = System.nanoTime() - start;
            return new PluginRun(process.exitValue(), out.join(), err.join(), nanos);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + command, e);
        }
    }

    private static CompletableFuture<String> drain(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try (stream) {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "<unreadable: " + e.getMessage() + ">";
            }
        }, runnable -> Thread.ofVirtual().start(runnable));
    }

    public JsonNode json() {
        try {
            return JSON.readTree(stdout);
        } catch (IOException e) {
            throw new AssertionError("stdout is not JSON: " + this, e);
        }
    }

    /** The CNI error code in stdout (asserting the exit code says the same). */
    public int errorCode() {
        int code = json().path("code").asInt(-1);
        if (code != exitCode) {
            throw new AssertionError("exit code " + exitCode + " but error JSON code " + code + ": " + this);
        }
        return code;
    }

    /**
     * The CNI error code in stdout of a plugin that failed. Unlike {@link #errorCode()} it does not require the exit
     * code to match: the Debian Go plugins (libcni's skel) exit with 1 whatever the code in their error JSON.
     */
    public int reportedErrorCode() {
        if (exitCode == 0) {
            throw new AssertionError("expected a failure: " + this);
        }
        return json().path("code").asInt(-1);
    }

    @Override
    public String toString() {
        return "exit " + exitCode + ", stdout " + stdout.strip() + ", stderr " + stderr.strip();
    }
}
