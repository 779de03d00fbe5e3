package io.isthmus.gateway.cli;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceKey;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

@Command(name = "unexport", description = "Withdraw a service from the clusterset.")
final class UnexportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ServiceOptions service;

    @Mixin
    AdminOption admin;

    @Override
    public Integer call() {
        try {
            new ServiceKey(service.namespace, service.name);
        } catch (InvalidFieldException e) {
            throw e.as("--" + e.field());
        }
        AdminClient.Reply reply = admin.client().delete("api/v1/exports/" + service.namespace + "/" + service.name);
        if (!reply.ok()) {
            throw new CliException(reply.error());
        }
        spec.commandLine().getOut().println("unexported " + service.namespace + "/" + service.name
                + " (version " + reply.json().path("version").asLong() + ")");
        return 0;
    }
}
