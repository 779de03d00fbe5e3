package io.isthmus.gateway.cli;

import io.isthmus.ipam.cni.CniPluginInstaller;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code isthmus cni-install DIR [--socket-dir RUN --socket-owner UID:GID]}: puts the isthmus-ipam CNI plugin (a
 * small native program) into DIR, and can prepare the node's socket directory for a node agent that does not run as
 * root (made, owned by UID:GID, mode 0750: the runtime's plugins run as root and need no more).
 */
@Command(name = "cni-install", description = "Install the isthmus-ipam CNI plugin into DIR (e.g. /opt/cni/bin).")
final class CniInstallCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "The CNI plugin directory (CNI_PATH).")
    Path dir;

    @Option(names = "--socket-dir", paramLabel = "RUN", description = "Also make RUN (the CNI socket's directory, "
            + "e.g. /run/isthmus) and give it to --socket-owner.")
    Path socketDir;

    @Option(names = "--socket-owner", paramLabel = "UID:GID", description = "Owner of --socket-dir: the node agent's "
            + "uid and gid (numeric).")
    String socketOwner;

    @Override
    public Integer call() {
        if ((socketDir == null) != (socketOwner == null)) {
            throw new CliException("--socket-dir and --socket-owner go together (got "
                    + (socketDir == null ? "--socket-owner " + socketOwner : "--socket-dir " + socketDir) + ")");
        }
        try {
            Path installed = CniPluginInstaller.installTo(dir);
            spec.commandLine().getOut().println("installed " + installed + "; a network config selects it with "
                    + "\"ipam\": {\"type\": \"" + CniPluginInstaller.PLUGIN_NAME + "\", \"pool\": NAME}");
        } catch (IOException e) {
            throw new CliException("cannot install the CNI plugin into " + dir + ": " + e.getMessage());
        }
        if (socketDir != null) {
            String[] ids = socketOwner.split(":", -1);
            if (ids.length != 2 || !ids[0].matches("\\d{1,10}") || !ids[1].matches("\\d{1,10}")) {
                throw new CliException("--socket-owner " + socketOwner + ": expected UID:GID, both numeric (e.g. 65532:65532)");
            }
            try {
                java.nio.file.Files.createDirectories(socketDir);
                java.nio.file.Files.setAttribute(socketDir, "unix:uid", Integer.parseInt(ids[0]));
                java.nio.file.Files.setAttribute(socketDir, "unix:gid", Integer.parseInt(ids[1]));
                java.nio.file.Files.setPosixFilePermissions(socketDir,
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
            } catch (IOException | NumberFormatException e) {
                throw new CliException("cannot prepare " + socketDir + " for uid:gid " + socketOwner + ": " + e.getMessage()
                        + " (changing the owner needs CAP_CHOWN)");
            }
            spec.commandLine().getOut().println("made " + socketDir + " (owner " + socketOwner + ", mode 0750)");
        }
        return 0;
    }
}
