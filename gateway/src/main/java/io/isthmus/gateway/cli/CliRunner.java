package io.isthmus.gateway.cli;

import io.isthmus.api.InvalidFieldException;
import picocli.CommandLine;

import java.io.PrintWriter;

/** Runs a picocli command the way every isthmus command runs: errors as one "isthmus: ..." line and an exit code. */
final class CliRunner {
    private CliRunner() {
    }

    /** Returns the exit code: 0 ok, 1 failed, 2 bad usage or input. */
    static int run(CommandLine cli, PrintWriter out, PrintWriter err, String... args) {
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof InvalidFieldException invalid) {
                err.println("isthmus: " + invalid.getMessage());
                return 2;
            }
            if (e instanceof CliException failed) {
                err.println("isthmus: " + failed.getMessage());
                return 1;
            }
            err.println("isthmus: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        });
        cli.setParameterExceptionHandler((e, a) -> {
            err.println("isthmus: " + e.getMessage());
            err.println("Run 'isthmus " + e.getCommandLine().getCommandName() + " --help' for usage.");
            return 2;
        });
        return cli.execute(args);
    }

    /** A process's entry: runs {@code cli}, then exits with its code. */
    static void exit(CommandLine cli, String... args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = run(cli, out, err, args);
        out.flush();
        err.flush();
        System.exit(code);
    }
}
