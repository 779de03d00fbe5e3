package io.isthmus.loadtest.peering;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * The peering load's report: {@code stats.json} (every figure, with the per-second timeline), {@code index.html}
 * (self-contained: a table per scenario, the assertions, an inline SVG of propagation over time and one of the
 * rates; no script, no external file), and the text printed on standard output, ending with one JSON line that
 * loadtest/run keeps as the run's figures.
 */
final class LoadReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** What the whole run was: the gateway under test, the settings, when. */
    record Run(String title, String command, String gateway, Instant started, double seconds, int services,
               long timeoutMs, String machine) {
    }

    private final Run run;
    private final List<LoadScenario.Outcome> outcomes;
    private final LoadFigures global;
    private final List<LoadAssertion.Result> results;

    LoadReport(Run run, List<LoadScenario.Outcome> outcomes, LoadFigures global, List<LoadAssertion.Result> results) {
        this.run = run;
        this.outcomes = List.copyOf(outcomes);
        this.global = global;
        this.results = List.copyOf(results);
    }

    boolean passed() {
        return results.stream().allMatch(LoadAssertion.Result::pass);
    }

    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve("stats.json").toFile(), stats());
        Files.writeString(dir.resolve("index.html"), html(), StandardCharsets.UTF_8);
    }

    // ---- JSON --------------------------------------------------------------------------------------------------

    ObjectNode stats() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode r = root.putObject("run");
        r.put("title", run.title()).put("command", run.command()).put("gateway", run.gateway())
                .put("started", run.started().toString()).put("seconds", round(run.seconds()))
                .put("servicesPerPeer", run.services()).put("timeoutMs", run.timeoutMs()).put("machine", run.machine());
        ArrayNode scenarios = root.putArray("scenarios");
        for (LoadScenario.Outcome o : outcomes) {
            ObjectNode s = scenarios.addObject();
            s.put("name", o.scenario().name()).put("peers", o.scenario().peers())
                    .put("firstPeer", SimulatedPeer.clusterId(o.firstPeer()))
                    .put("profile", o.scenario().injection().text())
                    .put("model", o.scenario().injection() instanceof Injection.Closed ? "closed" : "open")
                    .put("started", Instant.ofEpochMilli(o.startedAtMillis()).toString())
                    .put("joinSeconds", round(o.joinSeconds()));
            number(s, "gatewayCores", o.gatewayCores());
            s.put("droppedMessages", o.dropped()).put("resyncRequests", o.resyncRequests());
            figures(s, o.figures());
            ArrayNode timeline = s.putArray("timeline");
            for (LoadFigures.Bucket b : o.figures().timeline()) {
                ObjectNode t = timeline.addObject().put("second", b.second()).put("sent", b.sent()).put("ok", b.ok())
                        .put("failed", b.failed()).put("timeouts", b.timeouts());
                number(t, "p50Ms", b.p50Ms());
                number(t, "p99Ms", b.p99Ms());
                number(t, "maxMs", b.maxMs());
            }
        }
        figures(root.putObject("global"), global);
        ArrayNode assertions = root.putArray("assertions");
        for (LoadAssertion.Result a : results) {
            ObjectNode n = assertions.addObject().put("assertion", a.assertion().text()).put("scope", a.scope())
                    .put("metric", a.assertion().metric().label).put("op", a.assertion().op().symbol)
                    .put("value", a.assertion().value());
            number(n, "actual", a.actual());
            n.put("pass", a.pass()).put("text", a.describe());
        }
        root.put("passed", passed());
        return root;
    }

    private static void figures(ObjectNode n, LoadFigures f) {
        n.put("attempts", f.attempts()).put("ok", f.ok()).put("failed", f.failed()).put("timeouts", f.timeouts());
        number(n, "failedPercent", f.failedPercent());
        number(n, "okPerSecond", f.okPerSecond());
        number(n, "attemptsPerSecond", f.attemptsPerSecond());
        ObjectNode ms = n.putObject("propagationMs");
        number(ms, "min", f.minMs());
        number(ms, "mean", f.meanMs());
        number(ms, "p50", f.p50Ms());
        number(ms, "p90", f.p90Ms());
        number(ms, "p95", f.p95Ms());
        number(ms, "p99", f.p99Ms());
        number(ms, "p99.9", f.p999Ms());
        number(ms, "max", f.maxMs());
        ObjectNode errors = n.putObject("errors");
        f.errors().forEach(errors::put);
    }

    private static void number(ObjectNode n, String field, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            n.putNull(field);
        } else {
            n.put(field, round(v));
        }
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** One line of JSON: per scenario the counts, the rate and the percentiles; the assertions' verdict. */
    String summaryLine() {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode scenarios = root.putArray("scenarios");
        for (LoadScenario.Outcome o : outcomes) {
            LoadFigures f = o.figures();
            ObjectNode s = scenarios.addObject().put("name", o.scenario().name()).put("peers", o.scenario().peers())
                    .put("profile", o.scenario().injection().text()).put("ok", f.ok()).put("failed", f.failed())
                    .put("timeouts", f.timeouts());
            number(s, "okPerSecond", f.okPerSecond());
            number(s, "p50Ms", f.p50Ms());
            number(s, "p90Ms", f.p90Ms());
            number(s, "p99Ms", f.p99Ms());
            number(s, "maxMs", f.maxMs());
            number(s, "gatewayCores", o.gatewayCores());
        }
        root.put("assertionsPassed", results.stream().filter(LoadAssertion.Result::pass).count())
                .put("assertionsFailed", results.stream().filter(r -> !r.pass()).count()).put("passed", passed());
        return root.toString();
    }

    // ---- text --------------------------------------------------------------------------------------------------

    void print(PrintStream out) {
        out.println();
        out.printf(Locale.ROOT, "PEERING LOAD — %s; %d services per peer; a change times out after %d ms%n",
                run.gateway(), run.services(), run.timeoutMs());
        out.printf(Locale.ROOT, "  %-14s %5s %-34s %7s %7s %6s %6s %8s %8s %8s %8s %8s %8s %6s%n", "scenario", "peers",
                "profile", "sent", "ok", "t/o", "failed", "ok/s", "p50 ms", "p90", "p99", "p99.9", "max", "cores");
        for (LoadScenario.Outcome o : outcomes) {
            row(out, o.scenario().name(), Integer.toString(o.scenario().peers()), o.scenario().injection().text(),
                    o.figures(), o.gatewayCores());
        }
        if (outcomes.size() > 1) {
            row(out, "global", "", "", global, Double.NaN);
        }
        for (LoadScenario.Outcome o : outcomes) {
            o.figures().errors().forEach((reason, count) -> out.printf(Locale.ROOT, "  %s: %d not sent: %s%n",
                    o.scenario().name(), count, reason));
            if (o.dropped() > 0 || o.resyncRequests() > 0) {
                out.printf(Locale.ROOT, "  %s: %d messages the peers could not queue, %d resync requests from the gateway%n",
                        o.scenario().name(), o.dropped(), o.resyncRequests());
            }
        }
        out.println("  propagation: delta handed to the peer's stream -> the gateway's DNS answers the new address"
                + " (HdrHistogram, 3 digits); ok/s over the injection; cores: the gateway's CPU during the scenario");
        out.println();
        out.println("ASSERTIONS");
        if (results.isEmpty()) {
            out.println("  (none)");
        }
        results.forEach(r -> out.println("  " + r.describe()));
        out.println(passed() ? "  all passed" : "  " + results.stream().filter(r -> !r.pass()).count() + " of "
                + results.size() + " failed");
    }

    private static void row(PrintStream out, String name, String peers, String profile, LoadFigures f, double cores) {
        out.printf(Locale.ROOT, "  %-14s %5s %-34s %7d %7d %6d %6d %8.1f %8s %8s %8s %8s %8s %6s%n", name, peers,
                profile.length() > 34 ? profile.substring(0, 31) + "..." : profile, f.attempts(), f.ok(), f.timeouts(),
                f.failed(), f.okPerSecond(), Percentiles.ms(f.p50Ms()), Percentiles.ms(f.p90Ms()),
                Percentiles.ms(f.p99Ms()), Percentiles.ms(f.p999Ms()), Percentiles.ms(f.maxMs()),
                Double.isNaN(cores) ? "-" : String.format(Locale.ROOT, "%.2f", cores));
    }

    // ---- HTML --------------------------------------------------------------------------------------------------

    String html() {
        StringBuilder h = new StringBuilder(64 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
                .append(esc(run.title())).append("</title>\n<style>\n")
                .append("body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}")
                .append("table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;")
                .append("text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}")
                .append(".pass{color:#fff;background:#2e7d32;font-weight:bold}.fail{color:#fff;background:#c62828;")
                .append("font-weight:bold}code{background:#f6f6f6;padding:1px 4px}svg{background:#fff;")
                .append("border:1px solid #ddd}h2{margin-top:28px}.k{color:#666}\n</style></head><body>\n");
        h.append("<h1>").append(esc(run.title())).append("</h1>\n<table>");
        kv(h, "gateway", run.gateway());
        kv(h, "started", run.started().toString());
        kv(h, "wall time", String.format(Locale.ROOT, "%.1f s", run.seconds()));
        kv(h, "services per peer", Integer.toString(run.services()));
        kv(h, "change timeout", run.timeoutMs() + " ms");
        kv(h, "machine", run.machine());
        kv(h, "command", run.command());
        h.append("</table>\n<p class=\"k\">Propagation: from handing an export delta to the simulated peer's gRPC stream "
                + "until the gateway's DNS answers the new address. Percentiles from an HdrHistogram (3 significant "
                + "digits). <i>timeouts</i>: no such answer within the change timeout; <i>not sent</i>: the peer was "
                + "saturated or its stream could not take the change.</p>\n");

        h.append("<h2>Assertions</h2>\n");
        if (results.isEmpty()) {
            h.append("<p>none</p>\n");
        } else {
            h.append("<table><tr><th class=\"l\">scope</th><th class=\"l\">assertion</th><th>actual</th><th>result</th></tr>\n");
            for (LoadAssertion.Result r : results) {
                LoadAssertion a = r.assertion();
                h.append("<tr><td class=\"l\">").append(esc(r.scope())).append("</td><td class=\"l\"><code>")
                        .append(esc(a.metric().label + " " + a.op().symbol + " " + LoadAssertion.format(a.value(), a.metric().unit)))
                        .append("</code></td><td>").append(Double.isNaN(r.actual()) ? "no answer"
                                : esc(LoadAssertion.format(r.actual(), a.metric().unit)))
                        .append("</td><td class=\"").append(r.pass() ? "pass\">PASS" : "fail\">FAIL").append("</td></tr>\n");
            }
            h.append("</table>\n");
        }

        h.append("<h2>Summary</h2>\n");
        h.append("<table><tr><th class=\"l\">scenario</th><th>peers</th><th class=\"l\">profile</th><th>sent</th>"
                + "<th>ok</th><th>timeouts</th><th>not sent</th><th>failed %</th><th>ok/s</th><th>min</th><th>mean</th>"
                + "<th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>gateway cores</th></tr>\n");
        for (LoadScenario.Outcome o : outcomes) {
            summaryRow(h, o.scenario().name(), Integer.toString(o.scenario().peers()), o.scenario().injection().text(),
                    o.figures(), o.gatewayCores());
        }
        if (outcomes.size() > 1) {
            summaryRow(h, "global", "", "", global, Double.NaN);
        }
        h.append("</table>\n<p class=\"k\">Latencies in ms.</p>\n");

        for (LoadScenario.Outcome o : outcomes) {
            LoadFigures f = o.figures();
            h.append("<h2>").append(esc(o.scenario().name())).append("</h2>\n<table>");
            kv(h, "model", o.scenario().injection() instanceof Injection.Closed c
                    ? "closed: " + c.inFlightPerPeer() + " changes in flight per peer" : "open: arrivals on a schedule");
            kv(h, "profile", o.scenario().injection().text());
            kv(h, "peers", o.scenario().peers() + " (" + SimulatedPeer.clusterId(o.firstPeer()) + " .. "
                    + SimulatedPeer.clusterId(o.firstPeer() + o.scenario().peers() - 1) + "), joined in "
                    + String.format(Locale.ROOT, "%.2f s", o.joinSeconds()));
            kv(h, "started", Instant.ofEpochMilli(o.startedAtMillis()).toString());
            kv(h, "changes", f.attempts() + " sent or tried: " + f.ok() + " answered, " + f.timeouts() + " timed out, "
                    + f.failed() + " not sent");
            kv(h, "throughput", String.format(Locale.ROOT, "%.1f answered/s, %.1f tried/s", f.okPerSecond(),
                    f.attemptsPerSecond()));
            kv(h, "gateway CPU", Double.isNaN(o.gatewayCores()) ? "not measured (no --pid)"
                    : String.format(Locale.ROOT, "%.2f cores", o.gatewayCores()));
            if (o.dropped() > 0 || o.resyncRequests() > 0) {
                kv(h, "stream", o.dropped() + " messages not queued, " + o.resyncRequests() + " resync requests");
            }
            h.append("</table>\n");
            if (!f.errors().isEmpty()) {
                h.append("<table><tr><th class=\"l\">not sent because</th><th>count</th></tr>");
                f.errors().forEach((reason, count) -> h.append("<tr><td class=\"l\">").append(esc(reason))
                        .append("</td><td>").append(count).append("</td></tr>"));
                h.append("</table>\n");
            }
            h.append("<h3>Propagation over time (by the second the change was sent)</h3>\n")
                    .append(latencyChart(f.timeline())).append('\n')
                    .append("<h3>Changes per second</h3>\n").append(rateChart(f.timeline())).append('\n');
        }
        h.append("<p class=\"k\">Written by io.isthmus.loadtest.peering.PeeringLoad; the same figures are in "
                + "stats.json.</p>\n</body></html>\n");
        return h.toString();
    }

    private static void summaryRow(StringBuilder h, String name, String peers, String profile, LoadFigures f,
                                   double cores) {
        h.append("<tr><td class=\"l\">").append(esc(name)).append("</td><td>").append(peers)
                .append("</td><td class=\"l\"><code>").append(esc(profile)).append("</code></td><td>")
                .append(f.attempts()).append("</td><td>").append(f.ok()).append("</td><td>").append(f.timeouts())
                .append("</td><td>").append(f.failed()).append("</td><td>")
                .append(String.format(Locale.ROOT, "%.2f", f.failedPercent())).append("</td><td>")
                .append(String.format(Locale.ROOT, "%.1f", f.okPerSecond())).append("</td>");
        for (double v : new double[] {f.minMs(), f.meanMs(), f.p50Ms(), f.p90Ms(), f.p95Ms(), f.p99Ms(), f.p999Ms(),
                f.maxMs()}) {
            h.append("<td>").append(Percentiles.ms(v)).append("</td>");
        }
        h.append("<td>").append(Double.isNaN(cores) ? "-" : String.format(Locale.ROOT, "%.2f", cores)).append("</td></tr>\n");
    }

    private static void kv(StringBuilder h, String key, String value) {
        h.append("<tr><th class=\"l\">").append(esc(key)).append("</th><td class=\"l\">").append(esc(value))
                .append("</td></tr>");
    }

    private static final int W = 900;
    private static final int H = 240;
    private static final int LEFT = 60;
    private static final int RIGHT = 110;
    private static final int TOP = 12;
    private static final int BOTTOM = 34;

    /** p50, p99 and max per second on a log scale (0.1 ms .. the largest max, by decades). */
    static String latencyChart(List<LoadFigures.Bucket> timeline) {
        double top = timeline.stream().mapToDouble(LoadFigures.Bucket::maxMs).filter(v -> !Double.isNaN(v)).max().orElse(1);
        double lo = -1;
        double hi = Math.max(0, Math.ceil(Math.log10(Math.max(top, 0.2))));
        int seconds = Math.max(1, timeline.size());
        StringBuilder s = svgStart("propagation in ms (log scale) per second of the run");
        for (int d = (int) lo; d <= hi; d++) {
            double y = yLog(Math.pow(10, d), lo, hi);
            s.append(line(LEFT, y, W - RIGHT, y, "#eee"))
                    .append(text(LEFT - 6, y + 4, d < 0 ? "0.1" : String.format(Locale.ROOT, "%.0f", Math.pow(10, d)), "end"));
        }
        xAxis(s, seconds);
        s.append(series(timeline, LoadFigures.Bucket::maxMs, lo, hi, seconds, "#9e9e9e", true))
                .append(series(timeline, LoadFigures.Bucket::p99Ms, lo, hi, seconds, "#ef6c00", false))
                .append(series(timeline, LoadFigures.Bucket::p50Ms, lo, hi, seconds, "#1565c0", false));
        legend(s, new String[] {"p50", "p99", "max"}, new String[] {"#1565c0", "#ef6c00", "#9e9e9e"});
        return s.append("</svg>").toString();
    }

    /** Changes sent, answered and lost (timed out or not sent) per second, on a linear scale. */
    static String rateChart(List<LoadFigures.Bucket> timeline) {
        long top = Math.max(1, timeline.stream().mapToLong(LoadFigures.Bucket::sent).max().orElse(1));
        int seconds = Math.max(1, timeline.size());
        StringBuilder s = svgStart("changes per second of the run");
        double plotH = H - TOP - BOTTOM;
        for (int i = 0; i <= 4; i++) {
            double y = TOP + plotH - plotH * i / 4;
            s.append(line(LEFT, y, W - RIGHT, y, "#eee"))
                    .append(text(LEFT - 6, y + 4, String.format(Locale.ROOT, "%.0f", top * i / 4.0), "end"));
        }
        xAxis(s, seconds);
        double plotW = W - LEFT - RIGHT;
        double barW = Math.max(1, plotW / seconds - 1);
        for (LoadFigures.Bucket b : timeline) {
            double x = LEFT + plotW * b.second() / seconds;
            double hSent = plotH * b.sent() / top;
            double hLost = plotH * (b.failed() + b.timeouts()) / top;
            s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#90caf9\"/>",
                    x, TOP + plotH - hSent, barW, hSent));
            if (hLost > 0) {
                s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#c62828\"/>",
                        x, TOP + plotH - hLost, barW, hLost));
            }
        }
        StringBuilder points = new StringBuilder();
        for (LoadFigures.Bucket b : timeline) {
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", LEFT + plotW * (b.second() + 0.5) / seconds,
                    TOP + plotH - plotH * b.ok() / top));
        }
        s.append("<polyline fill=\"none\" stroke=\"#2e7d32\" stroke-width=\"2\" points=\"").append(points.toString().strip())
                .append("\"/>");
        legend(s, new String[] {"sent", "answered", "lost"}, new String[] {"#90caf9", "#2e7d32", "#c62828"});
        return s.append("</svg>").toString();
    }

    private static StringBuilder svgStart(String label) {
        return new StringBuilder(8192).append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W)
                .append("\" height=\"").append(H).append("\" viewBox=\"0 0 ").append(W).append(' ').append(H)
                .append("\" role=\"img\" aria-label=\"").append(esc(label)).append("\" font-size=\"11\" ")
                .append("font-family=\"sans-serif\">");
    }

    private static void xAxis(StringBuilder s, int seconds) {
        double plotW = W - LEFT - RIGHT;
        int step = Math.max(1, (int) Math.ceil(seconds / 10.0));
        for (int t = 0; t <= seconds; t += step) {
            double x = LEFT + plotW * t / seconds;
            s.append(line(x, H - BOTTOM, x, H - BOTTOM + 4, "#999")).append(text(x, H - BOTTOM + 16, t + " s", "middle"));
        }
        s.append(line(LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM, "#999")).append(line(LEFT, TOP, LEFT, H - BOTTOM, "#999"));
    }

    private static String series(List<LoadFigures.Bucket> timeline, java.util.function.ToDoubleFunction<LoadFigures.Bucket> value,
                                 double lo, double hi, int seconds, String color, boolean dots) {
        double plotW = W - LEFT - RIGHT;
        StringBuilder out = new StringBuilder();
        StringBuilder points = new StringBuilder();
        for (LoadFigures.Bucket b : timeline) {
            double v = value.applyAsDouble(b);
            if (Double.isNaN(v)) {
                continue;
            }
            double x = LEFT + plotW * (b.second() + 0.5) / seconds;
            double y = yLog(v, lo, hi);
            out.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"/>", x, y,
                    dots ? "2" : "2.5", color));
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        if (!dots && !points.isEmpty()) {
            out.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"2\" points=\"")
                    .append(points.toString().strip()).append("\"/>");
        }
        return out.toString();
    }

    private static double yLog(double ms, double lo, double hi) {
        double v = Math.log10(Math.max(ms, Math.pow(10, lo)));
        return TOP + (H - TOP - BOTTOM) * (1 - (v - lo) / (hi - lo));
    }

    private static void legend(StringBuilder s, String[] names, String[] colors) {
        for (int i = 0; i < names.length; i++) {
            double y = TOP + 14 + i * 18;
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>",
                    W - RIGHT + 14, y - 10, colors[i])).append(text(W - RIGHT + 32, y, names[i], "start"));
        }
    }

    private static String line(double x1, double y1, double x2, double y2, String color) {
        return String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>",
                x1, y1, x2, y2, color);
    }

    private static String text(double x, double y, String text, String anchor) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#444\">%s</text>",
                x, y, anchor, esc(text));
    }

    static String esc(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
