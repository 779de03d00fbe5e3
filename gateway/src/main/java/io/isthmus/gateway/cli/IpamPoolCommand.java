package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.isthmus.api.DnsLabel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code isthmus ipam pool ...}: one pool of a running gateway, by name. */
@Command(name = "pool", description = "One pool by name: delete it.", subcommands = IpamPoolCommand.Delete.class)
final class IpamPoolCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "delete", description = "Delete a pool. Refused while it holds leases (active, parked fixed IPs or "
            + "reservations) unless --force, which releases them all first, in the same durable step.")
    static final class Delete implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminOption admin;
        @Mixin
        IpamCommand.JsonOption json;

        @Parameters(index = "0", paramLabel = "NAME", description = "The pool.")
        String name;

        @Option(names = "--force", description = "Delete it even while it holds leases: they are released.")
        boolean force;

        @Override
        public Integer call() {
            String pool = DnsLabel.require("NAME", name);
            JsonNode deleted = IpamCommand.send(admin.client().delete("api/v1/ipam/pools/" + pool
                    + (force ? "?force=true" : "")));
            json.print(spec.commandLine().getOut(), deleted, (out, answer) -> out.println("deleted pool "
                    + answer.path("pool").asText() + " (released " + answer.path("drained").asInt() + " leases: "
                    + answer.path("active").asInt() + " active, " + answer.path("parked").asInt() + " parked, "
                    + answer.path("reserved").asInt() + " reserved)"));
            return 0;
        }
    }
}
