package io.isthmus.loadtest.peering;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the benchmark reads of a gateway's JVM from outside: CPU time from /proc, threads, live heap through jcmd. */
record GatewayProcess(long pid, int clockTicksPerSecond) {
    private static final Pattern TOTAL = Pattern.compile("(?m)^Total\\s+\\d+\\s+(\\d+)\\s*$");

    /** User + system CPU time of the whole process (all threads) so far, in seconds. */
    double cpuSeconds() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
        // Fields after the command name (which may hold spaces) in parentheses; utime and stime are fields 14 and 15.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / (double) clockTicksPerSecond;
    }

    int threads() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.US_ASCII)) {
            if (line.startsWith("Threads:")) {
                return Integer.parseInt(line.substring("Threads:".length()).trim());
            }
        }
        return -1;
    }

    /**
     * The live heap in KiB: the total of {@code jcmd PID GC.class_histogram}, which runs a full collection and then
     * counts only reachable objects. (Heap "used" after a GC.run, read by a second jcmd, would also count what a busy
     * gateway allocated in between: tens of MiB at 50 peers.)
     */
    long liveHeapKib() throws IOException, InterruptedException {
        return histogramTotalBytes(jcmd("GC.class_histogram")) / 1024;
    }

    /** The bytes on the {@code Total} line of a class histogram. */
    static long histogramTotalBytes(String histogram) throws IOException {
        Matcher total = TOTAL.matcher(histogram);
        if (!total.find()) {
            throw new IOException("jcmd GC.class_histogram printed no Total line");
        }
        return Long.parseLong(total.group(1));
    }

    private String jcmd(String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            throw new IOException("jcmd " + pid + " " + command + " failed: " + new String(output, StandardCharsets.UTF_8).strip());
        }
        return new String(output, StandardCharsets.UTF_8);
    }
}
