package io.isthmus.loadtest.peering;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A check on the figures, as Gatling's assertions are: {@code [SCOPE:]METRIC OP VALUE}, several separated by commas,
 * e.g. {@code p99<250ms, failed<1%, each:rate>=40/s}. SCOPE is {@code global} (every scenario's changes together,
 * the default), {@code each} (every scenario on its own, Gatling's {@code forAll}) or a scenario's name. METRIC:
 * {@code min mean p50 p90 p95 p99 p99.9 max} (propagation, in ms; a value may say {@code ms} or {@code s}),
 * {@code failed} (not sent or not answered, % of the attempts), {@code timeouts} (%), {@code ok} (changes answered)
 * or {@code rate} (answered per second of injection). OP: {@code < <= > >=}. A percentile with no answered change
 * to take it from fails.
 */
record LoadAssertion(String scope, Metric metric, Op op, double value, String text) {
    static final String GLOBAL = "global";
    static final String EACH = "each";

    enum Metric {
        MIN("min", Unit.MILLIS, LoadFigures::minMs),
        MEAN("mean", Unit.MILLIS, LoadFigures::meanMs),
        P50("p50", Unit.MILLIS, LoadFigures::p50Ms),
        P90("p90", Unit.MILLIS, LoadFigures::p90Ms),
        P95("p95", Unit.MILLIS, LoadFigures::p95Ms),
        P99("p99", Unit.MILLIS, LoadFigures::p99Ms),
        P999("p99.9", Unit.MILLIS, LoadFigures::p999Ms),
        MAX("max", Unit.MILLIS, LoadFigures::maxMs),
        FAILED("failed", Unit.PERCENT, LoadFigures::failedPercent),
        TIMEOUTS("timeouts", Unit.PERCENT, LoadFigures::timeoutPercent),
        OK("ok", Unit.COUNT, f -> f.ok()),
        RATE("rate", Unit.PER_SECOND, LoadFigures::okPerSecond);

        final String label;
        final Unit unit;
        final ToDoubleFunction<LoadFigures> read;

        Metric(String label, Unit unit, ToDoubleFunction<LoadFigures> read) {
            this.label = label;
            this.unit = unit;
            this.read = read;
        }
    }

    enum Op {
        LESS("<"), AT_MOST("<="), MORE(">"), AT_LEAST(">=");

        final String symbol;

        Op(String symbol) {
            this.symbol = symbol;
        }

        static Op of(String symbol) {
            for (Op op : values()) {
                if (op.symbol.equals(symbol)) {
                    return op;
                }
            }
            throw new IllegalArgumentException("an operator is <, <=, > or >=, got '" + symbol + "'");
        }

        boolean holds(double actual, double value) {
            return switch (this) {
                case LESS -> actual < value;
                case AT_MOST -> actual <= value;
                case MORE -> actual > value;
                case AT_LEAST -> actual >= value;
            };
        }
    }

    enum Unit {
        MILLIS(" ms"), PERCENT("%"), COUNT(""), PER_SECOND("/s");

        final String suffix;

        Unit(String suffix) {
            this.suffix = suffix;
        }
    }

    /** One assertion on one scope's figures. */
    record Result(LoadAssertion assertion, String scope, double actual, boolean pass) {
        String describe() {
            return (pass ? "PASS " : "FAIL ") + scope + ": " + assertion.metric().label + " " + assertion.op().symbol + " "
                    + format(assertion.value(), assertion.metric().unit) + " (actual "
                    + (Double.isNaN(actual) ? "no answered change" : format(actual, assertion.metric().unit)) + ")";
        }
    }

    private static final Pattern FORM = Pattern.compile(
            "\\s*(?:([a-z0-9][a-z0-9-]*)\\s*:)?\\s*([a-z][a-z0-9.]*)\\s*(<=|>=|<|>)\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(ms|s|%|/s)?\\s*");

    /** Parses the comma-separated list; every error names the assertion and what is wrong with it. */
    static List<LoadAssertion> parseAll(String text) {
        List<LoadAssertion> out = new ArrayList<>();
        if (text.isBlank()) {
            return out;
        }
        for (String part : text.split(",")) {
            out.add(parse(part));
        }
        return out;
    }

    static LoadAssertion parse(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        Matcher m = FORM.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("--assert '" + text.strip() + "' is not [SCOPE:]METRIC OP VALUE, like "
                    + "p99<250ms or each:failed<1%");
        }
        Metric metric = null;
        for (Metric candidate : Metric.values()) {
            if (candidate.label.equals(m.group(2))) {
                metric = candidate;
            }
        }
        if (metric == null) {
            throw new IllegalArgumentException("--assert '" + text.strip() + "': unknown metric '" + m.group(2)
                    + "' (min, mean, p50, p90, p95, p99, p99.9, max, failed, timeouts, ok, rate)");
        }
        double value = Double.parseDouble(m.group(4));
        String unit = m.group(5) == null ? "" : m.group(5);
        boolean fits = switch (metric.unit) {
            case MILLIS -> unit.isEmpty() || unit.equals("ms") || unit.equals("s");
            case PERCENT -> unit.isEmpty() || unit.equals("%");
            case COUNT -> unit.isEmpty();
            case PER_SECOND -> unit.isEmpty() || unit.equals("/s");
        };
        if (!fits) {
            throw new IllegalArgumentException("--assert '" + text.strip() + "': " + metric.label + " is measured in '"
                    + metric.unit.suffix.strip() + "', not '" + unit + "'");
        }
        if (unit.equals("s")) {
            value *= 1000;
        }
        if (metric.unit == Unit.PERCENT && value > 100) {
            throw new IllegalArgumentException("--assert '" + text.strip() + "': a percentage is at most 100");
        }
        return new LoadAssertion(m.group(1) == null ? GLOBAL : m.group(1), metric, Op.of(m.group(3)), value, text.strip());
    }

    /** Throws when the scope names a scenario that is not among {@code scenarios}. */
    void requireScope(Set<String> scenarios) {
        if (!scope.equals(GLOBAL) && !scope.equals(EACH) && !scenarios.contains(scope)) {
            throw new IllegalArgumentException("--assert '" + text + "': no scenario is named '" + scope
                    + "' (scenarios: " + String.join(", ", scenarios) + "; or global, each)");
        }
    }

    /** This assertion's results: one for global or a named scenario, one per scenario for {@code each}. */
    List<Result> evaluate(LoadFigures global, Map<String, LoadFigures> scenarios) {
        List<Result> out = new ArrayList<>();
        switch (scope) {
            case GLOBAL -> out.add(check(GLOBAL, global));
            case EACH -> scenarios.forEach((name, figures) -> out.add(check(name, figures)));
            default -> {
                LoadFigures figures = scenarios.get(scope);
                if (figures == null) {
                    throw new IllegalArgumentException("--assert '" + text + "': no scenario is named '" + scope + "'");
                }
                out.add(check(scope, figures));
            }
        }
        return out;
    }

    private Result check(String where, LoadFigures figures) {
        double actual = metric.read.applyAsDouble(figures);
        boolean pass = !Double.isNaN(actual) && op.holds(actual, value);
        return new Result(this, where, actual, pass);
    }

    static String format(double v, Unit unit) {
        String number = unit == Unit.COUNT ? String.format(Locale.ROOT, "%.0f", v)
                : v == Math.rint(v) && Math.abs(v) < 1e15 ? String.format(Locale.ROOT, "%.0f", v)
                : String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.1f" : Math.abs(v) >= 0.01 ? "%.2f" : "%.3g", v);
        return number + unit.suffix;
    }
}
