package io.isthmus.gateway.cli;

import io.isthmus.api.InvalidFieldException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** The {@code isthmus} command line. */
@Command(name = "isthmus", mixinStandardHelpOptions = true, version = "isthmus 0.1.0",
        description = "Isthmus: a cluster mesh gateway.",
        subcommands = {GatewayCommand.class, ExportCommand.class, UnexportCommand.class, StatusCommand.class,
                DemoCommand.class, MeshCommand.class, IpamCommand.class, TokenCommand.class, CniInstallCommand.class,
                CommandLine.HelpCommand.class})
public final class IsthmusCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = run(out, err, args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line; returns the exit code (0 ok, 1 failed, 2 bad usage or input). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new IsthmusCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            Throwable cause = e;
            if (cause instanceof InvalidFieldException invalid) {
                err.println("isthmus: " + invalid.getMessage());
                return 2;
            }
            if (cause instanceof CliException failed) {
                err.println("isthmus: " + failed.getMessage());
                return 1;
            }
            err.println("isthmus: " + (cause.getMessage() == null ? cause.toString() : cause.getMessage()));
            return 1;
        });
        cli.setParameterExceptionHandler((e, a) -> {
            err.println("isthmus: " + e.getMessage());
            err.println("Run 'isthmus " + e.getCommandLine().getCommandName() + " --help' for usage.");
            return 2;
        });
        return cli.execute(args);
    }
}
