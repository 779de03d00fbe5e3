package io.isthmus.gateway.cli;

import io.isthmus.ipam.cni.CniPluginInstaller;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code isthmus cni-install DIR}: puts the isthmus-ipam CNI plugin (a small native program) into DIR. */
@Command(name = "cni-install", description = "Install the isthmus-ipam CNI plugin into DIR (e.g. /opt/cni/bin).")
final class CniInstallCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "The CNI plugin directory (CNI_PATH).")
    Path dir;

    @Override
    public Integer call() {
        try {
            Path installed = CniPluginInstaller.installTo(dir);
            spec.commandLine().getOut().println("installed " + installed + "; a network config selects it with "
                    + "\"ipam\": {\"type\": \"" + CniPluginInstaller.PLUGIN_NAME + "\", \"pool\": NAME}");
            return 0;
        } catch (IOException e) {
            throw new CliException("cannot install the CNI plugin into " + dir + ": " + e.getMessage());
        }
    }
}
