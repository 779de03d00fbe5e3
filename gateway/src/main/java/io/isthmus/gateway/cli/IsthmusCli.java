package io.isthmus.gateway.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** The {@code isthmus} command line. */
@Command(name = "isthmus", mixinStandardHelpOptions = true, version = "isthmus 0.1.0",
        description = "Isthmus: a cluster mesh gateway.",
        subcommands = {GatewayCommand.class, ExportCommand.class, UnexportCommand.class, StatusCommand.class,
                DemoCommand.class, MeshCommand.class, IpamCommand.class, PolicyCommand.class, TokenCommand.class,
                CniInstallCommand.class, UninstallCommand.class, JoinCommands.JoinCommand.class, DiagnoseCommand.class,
                CommandLine.HelpCommand.class})
public final class IsthmusCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        CliRunner.exit(new CommandLine(new IsthmusCli()), args);
    }

    /** Runs one command line; returns the exit code (0 ok, 1 failed, 2 bad usage or input). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return CliRunner.run(new CommandLine(new IsthmusCli()), out, err, args);
    }
}
