package io.isthmus.gateway.cli;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceKey;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

@Command(name = "unexport", description = "Withdraw a service from the clusterset.")
final class UnexportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--namespace", required = true, paramLabel = "NS")
    String namespace;

    @Option(names = "--name", required = true, paramLabel = "SVC")
    String name;

    @Option(names = "--admin", defaultValue = AdminClient.DEFAULT_ADMIN, paramLabel = "URL",
            description = "The gateway's admin HTTP address (default: ${DEFAULT-VALUE}).")
    String admin;

    @Override
    public Integer call() {
        try {
            new ServiceKey(namespace, name);
        } catch (InvalidFieldException e) {
            throw e.as("--" + e.field());
        }
        AdminClient.Reply reply = new AdminClient(admin).delete("api/v1/exports/" + namespace + "/" + name);
        if (!reply.ok()) {
            throw new CliException(reply.error());
        }
        spec.commandLine().getOut().println("unexported " + namespace + "/" + name
                + " (version " + reply.json().path("version").asLong() + ")");
        return 0;
    }
}
