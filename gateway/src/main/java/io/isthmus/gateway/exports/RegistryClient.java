package io.isthmus.gateway.exports;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.japi.function.Function;

import java.time.Duration;
import java.util.concurrent.CompletionStage;

/** Asks this replica's {@link ExportRegistry}, which accepts writes itself (no other replica is involved). */
public record RegistryClient(ActorRef<ExportRegistry.Command> registry, Scheduler scheduler) {

    public <R> CompletionStage<R> ask(Function<ActorRef<R>, ExportRegistry.Command> message, Duration timeout) {
        return AskPattern.ask(registry, message, timeout, scheduler);
    }
}
