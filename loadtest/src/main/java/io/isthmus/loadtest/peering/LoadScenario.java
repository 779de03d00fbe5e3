package io.isthmus.loadtest.peering;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;

/**
 * One scenario of the peering load: {@code peers} simulated clusters of their own that join the gateway, then
 * push export changes as the {@link Injection} says; each change is timed from being handed to its peer's stream
 * until the gateway's DNS answers the new address (the {@link DnsProbe}). A service has at most one change in
 * flight, so every answer is unambiguous: an open-model arrival that finds all of its peer's services busy is
 * counted as failed (the peer is saturated), never queued.
 *
 * <p>Written {@code NAME:PEERS:PROFILE}, e.g. {@code open-10:10:ramp(1,50,5s)+constant(50,30s)} or
 * {@code closed-10:10:closed(2,30s)}; several separated by {@code ;}.
 */
record LoadScenario(String name, int peers, Injection injection) {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");

    LoadScenario {
        if (!NAME.matcher(name).matches() || name.equals(LoadAssertion.GLOBAL) || name.equals(LoadAssertion.EACH)) {
            throw new IllegalArgumentException("scenario name '" + name + "': lower-case letters, digits and '-', "
                    + "at most 40, not 'global' or 'each'");
        }
        if (peers < 1 || peers > SimulatedPeer.MAX_PEERS) {
            throw new IllegalArgumentException("scenario " + name + ": peers must be 1.." + SimulatedPeer.MAX_PEERS
                    + ", got " + peers);
        }
    }

    static List<LoadScenario> parseAll(String text) {
        List<LoadScenario> out = new ArrayList<>();
        int total = 0;
        for (String part : text.split(";")) {
            if (part.isBlank()) {
                continue;
            }
            String[] fields = part.strip().split(":", 3);
            if (fields.length != 3) {
                throw new IllegalArgumentException("--scenarios: '" + part.strip() + "' is not NAME:PEERS:PROFILE");
            }
            int peers;
            try {
                peers = Integer.parseInt(fields[1].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--scenarios: scenario " + fields[0].strip()
                        + ": PEERS is a whole number, got '" + fields[1].strip() + "'");
            }
            LoadScenario scenario = new LoadScenario(fields[0].strip(), peers, Injection.parse(fields[2]));
            if (out.stream().anyMatch(s -> s.name().equals(scenario.name()))) {
                throw new IllegalArgumentException("--scenarios: the name " + scenario.name() + " is given twice");
            }
            total += peers;
            out.add(scenario);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("--scenarios: at least one NAME:PEERS:PROFILE");
        }
        if (total > SimulatedPeer.MAX_PEERS) {
            throw new IllegalArgumentException("--scenarios: every scenario has peers of its own, at most "
                    + SimulatedPeer.MAX_PEERS + " together, got " + total);
        }
        return out;
    }

    /** What the scenario measured, with how it ran. */
    record Outcome(LoadScenario scenario, int firstPeer, double joinSeconds, long startedAtMillis, LoadTally tally,
                   LoadFigures figures, double gatewayCores, long dropped, int resyncRequests) {
    }

    /** The shared parts a scenario runs with. */
    record Context(PeerFleet fleet, DnsProbe probe, InetSocketAddress dns, int services, Duration timeout,
                   long maxChanges, GatewayProcess gateway) {
    }

    /** Joins the peers sim-{@code firstPeer}.., injects, waits for the last outcomes, disconnects the peers. */
    Outcome run(Context context, int firstPeer, java.io.PrintStream progress)
            throws IOException, GeneralSecurityException, InterruptedException, PeeringBench.Failure {
        if (injection instanceof Injection.Closed closed && closed.inFlightPerPeer() > context.services()) {
            throw new IllegalArgumentException("scenario " + name + ": closed(" + closed.inFlightPerPeer()
                    + ",...) needs at least as many services per peer (--services " + context.services() + ")");
        }
        long joinStart = System.nanoTime();
        List<SimulatedPeer> joined = context.fleet().connect(firstPeer, peers, context.services());
        double joinSeconds = context.fleet().awaitJoined(joined, joined, context.probe(), joinStart);
        progress.printf(Locale.ROOT, "  %s: %d peer%s (%s..%s) joined in %.2f s; injecting %s%n", name, peers,
                peers == 1 ? "" : "s", SimulatedPeer.clusterId(firstPeer), SimulatedPeer.clusterId(firstPeer + peers - 1),
                joinSeconds, injection.text());

        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform()
                .name("load-" + name + "-timer").daemon(true).unstarted(r));
        ExecutorService sender = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform()
                .name("load-" + name + "-send").daemon(true).unstarted(r));
        List<ScheduledFuture<?>> heartbeats = new ArrayList<>();
        for (int i = 0; i < joined.size(); i++) {
            long offset = (long) ((i * 0.6180339887498949) % 1.0 * 1000); // spread over the second
            heartbeats.add(timer.scheduleAtFixedRate(joined.get(i)::heartbeat, offset, 1000, TimeUnit.MILLISECONDS));
        }
        Injector injector = new Injector(joined, context, timer);
        long start = System.nanoTime();
        LoadTally tally = new LoadTally(start);
        injector.tally = tally;
        long startedAtMillis = System.currentTimeMillis();
        double cpu0 = gatewayCpu(context.gateway());
        try {
            switch (injection) {
                case Injection.Open open -> {
                    long[] arrivals = open.arrivals(context.maxChanges());
                    for (int n = 0; n < arrivals.length; n++) {
                        sleepUntil(start + arrivals[n]);
                        injector.send(n % joined.size());
                    }
                    sleepUntil(start + open.duration().toNanos());
                }
                case Injection.Closed closed -> {
                    ClosedLoop loop = new ClosedLoop(joined.size(), closed.inFlightPerPeer(), System::nanoTime,
                            start + closed.duration().toNanos(), injector::send, sender).start();
                    loop.done().get(closed.duration().toMillis() + context.timeout().toMillis() + 10_000,
                            TimeUnit.MILLISECONDS);
                }
            }
            double injected = (System.nanoTime() - start) / 1e9;
            injector.drain(context.timeout().plusSeconds(2));
            double cpu1 = gatewayCpu(context.gateway());
            double seconds = injection.duration().toNanos() / 1e9;
            LoadFigures figures = tally.figures(seconds);
            progress.printf(Locale.ROOT, "  %s: %d changes in %.1f s: %d answered, %d timed out, %d not sent%n", name,
                    figures.attempts(), injected, figures.ok(), figures.timeouts(), figures.failed());
            return new Outcome(this, firstPeer, joinSeconds, startedAtMillis, tally, figures,
                    Double.isNaN(cpu0) ? Double.NaN : (cpu1 - cpu0) / ((System.nanoTime() - start) / 1e9),
                    joined.stream().mapToLong(SimulatedPeer::dropped).sum(),
                    joined.stream().mapToInt(SimulatedPeer::resyncRequests).sum());
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new PeeringBench.Failure("scenario " + name + ": the closed loop did not finish: " + e);
        } finally {
            heartbeats.forEach(h -> h.cancel(false));
            timer.shutdownNow();
            sender.shutdownNow();
            context.fleet().disconnect(joined);
        }
    }

    /** Until {@link System#nanoTime} reaches {@code nanos} (at once when it has). */
    private static void sleepUntil(long nanos) throws InterruptedException {
        for (long wait = nanos - System.nanoTime(); wait > 0; wait = nanos - System.nanoTime()) {
            LockSupport.parkNanos(wait);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }

    private static double gatewayCpu(GatewayProcess gateway) {
        if (gateway == null) {
            return Double.NaN;
        }
        try {
            return gateway.cpuSeconds();
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    /** Sends one change for a peer, picking a service of it with no change in flight, and records the outcome. */
    private static final class Injector {
        private final List<SimulatedPeer> peers;
        private final Context context;
        private final ScheduledExecutorService timer;
        private final boolean[][] busy;
        private final int[] cursor;
        private final AtomicLong pending = new AtomicLong();
        private volatile LoadTally tally;

        Injector(List<SimulatedPeer> peers, Context context, ScheduledExecutorService timer) {
            this.peers = peers;
            this.context = context;
            this.timer = timer;
            this.busy = new boolean[peers.size()][context.services()];
            this.cursor = new int[peers.size()];
        }

        /** Completes when the change's outcome is known; a change that could not be sent completes 10 ms later. */
        CompletionStage<?> send(int p) {
            SimulatedPeer peer = peers.get(p);
            long now = System.nanoTime();
            if (tally.outcomes() + pending.get() >= context.maxChanges()) {
                return later(); // the count bound: no more changes
            }
            int service = acquire(p);
            if (service < 0) {
                tally.failed(now, "every service of its peer had a change in flight (peer saturated)");
                return later();
            }
            if (peer.failure() != null) {
                release(p, service);
                tally.failed(now, "the peer's stream had ended: " + peer.failure());
                return later();
            }
            SimulatedPeer.Change change = peer.change(service);
            if (!change.queued()) {
                release(p, service);
                tally.failed(change.sentNanos(), "the peer's outgoing queue was full or closed");
                return later();
            }
            pending.incrementAndGet();
            return context.probe().await(context.dns(), change.fqdn(), List.of(change.ip()), change.sentNanos(),
                    context.timeout()).whenComplete((nanos, error) -> {
                        if (nanos != null && nanos >= 0) {
                            tally.ok(change.sentNanos(), nanos);
                        } else {
                            tally.timeout(change.sentNanos());
                        }
                        release(p, service);
                        if (pending.decrementAndGet() == 0) {
                            synchronized (this) {
                                notifyAll();
                            }
                        }
                    });
        }

        private CompletionStage<?> later() {
            CompletableFuture<Void> f = new CompletableFuture<>();
            try {
                timer.schedule(() -> f.complete(null), 10, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                f.complete(null);
            }
            return f;
        }

        private synchronized int acquire(int p) {
            boolean[] b = busy[p];
            for (int i = 0; i < b.length; i++) {
                int j = (cursor[p] + i) % b.length;
                if (!b[j]) {
                    b[j] = true;
                    cursor[p] = (j + 1) % b.length;
                    return j + 1;
                }
            }
            return -1;
        }

        private synchronized void release(int p, int service) {
            busy[p][service - 1] = false;
        }

        /** Until every change sent has its outcome (the probe times each out), at most {@code bound}. */
        synchronized void drain(Duration bound) throws InterruptedException {
            long deadline = System.nanoTime() + bound.toNanos();
            while (pending.get() > 0 && System.nanoTime() < deadline) {
                wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            }
        }
    }
}
