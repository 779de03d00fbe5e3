package io.isthmus.loadtest.peering;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a scenario injects export changes, in the two models Gatling has.
 * <ul>
 *   <li>{@link Open}: changes arrive on a schedule, whatever the gateway does (Gatling's {@code injectOpen}): a
 *   sequence of steps, each {@code ramp(R1,R2,T)} (the rate moves linearly from R1 to R2 changes per second over
 *   T, {@code rampUsersPerSec(R1).to(R2).during(T)}), {@code constant(R,T)} ({@code constantUsersPerSec}) or
 *   {@code nothing(T)} (a pause, {@code nothingFor}), joined by {@code +}.</li>
 *   <li>{@link Closed}: {@code closed(K,T)}: each simulated peer keeps K changes in flight for T, sending the next
 *   as soon as one has appeared in the gateway's DNS (or timed out); the rate is what the gateway allows
 *   (Gatling's {@code constantConcurrentUsers}).</li>
 * </ul>
 * Durations are {@code 30s}, {@code 500ms} or bare seconds; rates are changes per second, fractions allowed.
 */
sealed interface Injection {
    /** How long the injection runs (not counting the wait for the last changes' answers). */
    Duration duration();

    /** The profile as it is written. */
    String text();

    sealed interface OpenStep {
        Duration during();
    }

    /** The rate goes linearly from {@code from} to {@code to} changes per second over {@code during}. */
    record Ramp(double from, double to, Duration during) implements OpenStep {
        public Ramp {
            if (!(from >= 0) || !(to >= 0) || !Double.isFinite(from) || !Double.isFinite(to)) {
                throw new IllegalArgumentException("a rate is changes per second, 0 or more, got " + from + " and " + to);
            }
        }

        /**
         * How many changes the step makes: one for every whole number n whose time (see {@link #offsetNanos}) falls
         * inside the step, so the area under the rate rounded up (a change due exactly at the end is the next step's).
         */
        long count() {
            return (long) Math.ceil((from + to) / 2 * seconds(during) - 1e-9);
        }

        /**
         * When the {@code n}-th change (from 0) of the step arrives, in nanoseconds from the step's start: the time t
         * at which the changes so far, {@code from * t + (to - from) * t^2 / (2T)}, reach n. Written as
         * {@code 2n / (from + sqrt(from^2 + 2 (to - from) n / T))}, which also holds for a constant or falling rate.
         */
        long offsetNanos(long n) {
            if (n == 0) {
                return 0;
            }
            double t = seconds(during);
            double root = Math.sqrt(Math.max(0, from * from + 2 * (to - from) * n / t));
            return Math.round(2.0 * n / (from + root) * 1e9);
        }
    }

    record Nothing(Duration during) implements OpenStep {
    }

    record Open(List<OpenStep> steps, String text) implements Injection {
        public Open {
            steps = List.copyOf(steps);
            if (steps.isEmpty()) {
                throw new IllegalArgumentException("an open profile needs at least one step");
            }
        }

        @Override
        public Duration duration() {
            return steps.stream().map(OpenStep::during).reduce(Duration.ZERO, Duration::plus);
        }

        /** How many changes the whole profile makes. */
        long count() {
            return steps.stream().mapToLong(s -> s instanceof Ramp r ? r.count() : 0).sum();
        }

        /**
         * Every change's arrival, in nanoseconds from the start of the profile, in order; at most {@code limit}
         * of them (the first ones).
         */
        long[] arrivals(long limit) {
            long total = Math.min(limit, count());
            long[] out = new long[(int) Math.min(total, Integer.MAX_VALUE - 8)];
            int i = 0;
            long stepStart = 0;
            for (OpenStep step : steps) {
                switch (step) {
                    case Ramp ramp -> {
                        for (long n = 0; n < ramp.count() && i < out.length; n++) {
                            out[i++] = stepStart + Math.min(ramp.offsetNanos(n), ramp.during().toNanos());
                        }
                    }
                    case Nothing _ -> {
                        // a pause: no arrivals
                    }
                }
                stepStart += step.during().toNanos();
            }
            return out;
        }
    }

    record Closed(int inFlightPerPeer, Duration duration, String text) implements Injection {
        public Closed {
            if (inFlightPerPeer < 1 || inFlightPerPeer > SimulatedPeer.MAX_SERVICES) {
                throw new IllegalArgumentException("closed(K,T): K, the changes in flight per peer, must be 1.."
                        + SimulatedPeer.MAX_SERVICES + ", got " + inFlightPerPeer);
            }
        }
    }

    Pattern STEP = Pattern.compile("\\s*(ramp|constant|nothing|closed)\\s*\\(([^()]*)\\)\\s*");
    Duration MAX_DURATION = Duration.ofMinutes(30);

    /** Parses a profile as the class comment writes it; the error names the part that is wrong. */
    static Injection parse(String text) {
        String profile = text.strip();
        List<OpenStep> steps = new ArrayList<>();
        for (String part : profile.split("\\+", -1)) {
            Matcher m = STEP.matcher(part);
            if (!m.matches()) {
                throw new IllegalArgumentException("profile '" + profile + "': '" + part.strip() + "' is not one of "
                        + "ramp(R1,R2,T), constant(R,T), nothing(T), closed(K,T)");
            }
            String[] args = m.group(2).split(",", -1);
            String kind = m.group(1);
            int arity = switch (kind) {
                case "ramp" -> 3;
                case "constant", "closed" -> 2;
                default -> 1;
            };
            if (args.length != arity) {
                throw new IllegalArgumentException("profile '" + profile + "': " + kind + " takes " + arity
                        + " arguments, got '" + m.group(2) + "'");
            }
            Duration during = duration(args[arity - 1], profile);
            switch (kind) {
                case "ramp" -> steps.add(new Ramp(rate(args[0], profile), rate(args[1], profile), during));
                case "constant" -> {
                    double r = rate(args[0], profile);
                    steps.add(new Ramp(r, r, during));
                }
                case "nothing" -> steps.add(new Nothing(during));
                default -> {
                    if (!profile.equals(part.strip())) {
                        throw new IllegalArgumentException("profile '" + profile
                                + "': closed(K,T) stands alone, it cannot be joined with open steps");
                    }
                    int k;
                    try {
                        k = Integer.parseInt(args[0].strip());
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("profile '" + profile + "': K in closed(K,T) is a whole "
                                + "number, got '" + args[0].strip() + "'");
                    }
                    return new Closed(k, during, profile);
                }
            }
        }
        Open open = new Open(steps, profile);
        if (open.duration().compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException("profile '" + profile + "' runs " + open.duration().toSeconds()
                    + " s; at most " + MAX_DURATION.toSeconds() + " s");
        }
        return open;
    }

    private static double rate(String text, String profile) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        if (s.endsWith("/s")) {
            s = s.substring(0, s.length() - 2).strip();
        }
        try {
            double r = Double.parseDouble(s);
            if (r >= 0 && r <= 100_000) {
                return r;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException("profile '" + profile + "': a rate is changes per second 0..100000, got '"
                + text.strip() + "'");
    }

    /** {@code 30s}, {@code 500ms}, {@code 2m} or bare seconds; more than 0, at most 30 minutes. */
    static Duration duration(String text, String profile) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        Duration d = null;
        try {
            if (s.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).strip()));
            } else if (s.endsWith("s")) {
                d = Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1).strip()) * 1000));
            } else if (s.endsWith("m")) {
                d = Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1).strip()) * 60_000));
            } else {
                d = Duration.ofMillis(Math.round(Double.parseDouble(s) * 1000));
            }
        } catch (NumberFormatException e) {
            // said below
        }
        if (d == null || d.isNegative() || d.isZero() || d.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException("profile '" + profile + "': a duration is like 30s, 500ms or 2m, more "
                    + "than 0 and at most 30m, got '" + text.strip() + "'");
        }
        return d;
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }
}
