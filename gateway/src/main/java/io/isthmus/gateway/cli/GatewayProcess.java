package io.isthmus.gateway.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A gateway started as a child JVM from this JVM's own java and classpath, with its output in a log file.
 * Used by the demo (and by tests) to run several clusters on one machine as separate processes.
 */
final class GatewayProcess implements AutoCloseable {
    private final String name;
    private final Path log;
    private final int adminPort;
    private final Process process;

    private GatewayProcess(String name, Path log, int adminPort, Process process) {
        this.name = name;
        this.log = log;
        this.adminPort = adminPort;
        this.process = process;
    }

    /**
     * Starts {@code isthmus gateway --config config}, tied to this process: it exits when we do, even on SIGKILL.
     * {@code jvmOptions} come before the main class (heap size and the like).
     */
    static GatewayProcess start(String name, Path config, int adminPort, Path log, List<String> jvmOptions)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("--sun-misc-unsafe-memory-access=allow");
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(GatewayCommand.class.getName());
        command.add("--config");
        command.add(config.toAbsolutePath().toString());
        command.add("--exit-with-parent");
        command.add(Long.toString(ProcessHandle.current().pid()));
        Files.createDirectories(log.toAbsolutePath().getParent());
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        return new GatewayProcess(name, log, adminPort, process);
    }

    String name() {
        return name;
    }

    String adminUrl() {
        return "http://127.0.0.1:" + adminPort;
    }

    Process process() {
        return process;
    }

    Path log() {
        return log;
    }

    /** Waits until /readyz says ready; fails early, with the end of the log, if the process dies. */
    void awaitReady(Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest ready = HttpRequest.newBuilder(URI.create(adminUrl() + "/readyz"))
                .timeout(Duration.ofSeconds(2)).GET().build();
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new CliException("gateway " + name + " exited with code " + process.exitValue()
                        + " while starting; its log " + log + " ends with:\n" + tail(20));
            }
            try {
                if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new CliException("gateway " + name + " was not ready within " + timeout.toSeconds()
                + " s; its log " + log + " ends with:\n" + tail(20));
    }

    String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    /** SIGKILL, no clean-up: what a crash looks like. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM, then SIGKILL if it has not stopped within the grace time. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
