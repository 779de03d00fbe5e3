package io.isthmus.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server (Debian's package) for tests: a private data directory, 127.0.0.1 on a free port, run as
 * the postgres user when we are root (initdb refuses root). Stopped and deleted on close.
 */
public final class PostgresServer implements AutoCloseable {
    private final Path home;
    private final Path bin;
    private final int port;

    private PostgresServer(Path home, Path bin, int port) {
        this.home = home;
        this.bin = bin;
        this.port = port;
    }

    public static PostgresServer start() throws Exception {
        Path bin;
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            bin = versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
                    .max(Comparator.naturalOrder())
                    .orElseThrow(() -> new IllegalStateException("no PostgreSQL under /usr/lib/postgresql: "
                            + "install Debian's postgresql package (scripts/test does)"));
        }
        // Under /tmp with open directory bits: the postgres user must reach it.
        Path home = Files.createTempDirectory(Path.of("/tmp"), "isthmus-pg-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        PostgresServer server = new PostgresServer(home, bin, port);
        if (isRoot()) {
            run(List.of("chown", "postgres:postgres", home.toString()));
        }
        server.asPostgres(bin.resolve("initdb").toString(), "-D", home.resolve("data").toString(), "-A", "trust",
                "-U", "postgres", "--no-sync");
        server.asPostgres(bin.resolve("pg_ctl").toString(), "-D", home.resolve("data").toString(), "-w",
                "-l", home.resolve("server.log").toString(), "-o",
                "-p " + port + " -k " + home + " -c listen_addresses=127.0.0.1 -c fsync=off", "start");
        server.asPostgres(bin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port),
                "-U", "postgres", "isthmus");
        return server;
    }

    public String url() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/isthmus";
    }

    private static boolean isRoot() throws Exception {
        Process id = new ProcessBuilder("id", "-u").start();
        return new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip().equals("0");
    }

    private void asPostgres(String... command) throws Exception {
        List<String> full = new ArrayList<>();
        if (isRoot()) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(List.of(command));
        run(full);
    }

    private static void run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            asPostgres(bin.resolve("pg_ctl").toString(), "-D", home.resolve("data").toString(), "-m", "immediate",
                    "-w", "stop");
        } finally {
            try (Stream<Path> files = Files.walk(home)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> {
                    try {
                        Files.deleteIfExists(path);
                    } catch (IOException ignored) {
                        // best effort: a temp dir
                    }
                });
            }
        }
    }
}
