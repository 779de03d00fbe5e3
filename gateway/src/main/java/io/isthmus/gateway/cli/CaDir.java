package io.isthmus.gateway.cli;

import io.isthmus.gateway.pki.PkiException;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.function.Supplier;

/** {@code --ca DIR}: the clusterset CA's directory, for the commands that work on it. */
final class CaDir {
    @Option(names = "--ca", required = true, paramLabel = "DIR", description = "The clusterset CA's directory.")
    Path dir;

    /** Runs a step on the CA; its errors (they say what to do) become the command's. */
    static <T> T pki(Supplier<T> step) {
        try {
            return step.get();
        } catch (PkiException e) {
            throw new CliException(e.getMessage());
        }
    }
}
