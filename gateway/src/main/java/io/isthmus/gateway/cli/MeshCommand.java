package io.isthmus.gateway.cli;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.IssuedCertificate;
import io.isthmus.gateway.pki.IssuedEntry;
import io.isthmus.gateway.pki.KeyFiles;
import io.isthmus.gateway.pki.PkiException;
import io.isthmus.gateway.pki.SignedCrl;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** The clusterset PKI: a CA that issues each cluster's peering certificate, and revokes it. */
@Command(name = "mesh", description = "Manage the clusterset CA and the clusters' peering certificates.",
        subcommands = {MeshCommand.Init.class, MeshCommand.Issue.class, MeshCommand.Revoke.class, MeshCommand.ListIssued.class})
final class MeshCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code --ca DIR}: the clusterset CA's directory. */
    static final class CaDir {
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "The clusterset CA's directory.")
        Path dir;
    }

    /** {@code --cluster ID}: the cluster a certificate is for. */
    static final class ClusterOption {
        @Option(names = "--cluster", required = true, paramLabel = "ID")
        String value;

        ClusterId id() {
            try {
                return ClusterId.of(value);
            } catch (InvalidFieldException e) {
                throw e.as("--cluster");
            }
        }
    }

    static <T> T pki(java.util.function.Supplier<T> step) {
        try {
            return step.get();
        } catch (PkiException e) {
            throw new CliException(e.getMessage());
        }
    }

    @Command(name = "init", description = "Create the clusterset CA in DIR (keep it off the gateways).")
    static final class Init implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Override
        public Integer call() {
            ClustersetCa created = pki(() -> ClustersetCa.init(ca.dir));
            spec.commandLine().getOut().println("created the clusterset CA in " + ca.dir + " ("
                    + created.certificate().getSubjectX500Principal().getName() + ")");
            return 0;
        }
    }

    @Command(name = "issue", description = "Issue a cluster's peering certificate into OUT (the gateway's tls dir).")
    static final class Issue implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Mixin
        ClusterOption cluster;

        @Option(names = "--out", required = true, paramLabel = "DIR",
                description = "Where the gateway reads it: its isthmus.tls.dir.")
        Path out;

        @Option(names = "--days", defaultValue = "90", paramLabel = "N",
                description = "Validity in days (default: ${DEFAULT-VALUE}); issue again before it ends to rotate.")
        int days;

        @Override
        public Integer call() {
            if (days < 1 || days > 3650) {
                throw new InvalidFieldException("--days", days, "must be between 1 and 3650");
            }
            ClusterId id = cluster.id();
            IssuedCertificate issued = pki(() -> ClustersetCa.load(ca.dir).issue(id, Duration.ofDays(days)));
            KeyFiles files = pki(() -> issued.writeTo(out));
            spec.commandLine().getOut().println("issued a certificate for cluster " + id + " (serial "
                    + issued.serial().toString(16) + ", valid until " + issued.notAfter() + ") into "
                    + files.certificate().getParent());
            return 0;
        }
    }

    @Command(name = "revoke", description = "Revoke every certificate of a cluster; push the new CRL to gateways.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Mixin
        ClusterOption cluster;

        @Option(names = "--admin", paramLabel = "URL",
                description = "A running gateway to give the new CRL to at once; repeat for several.")
        List<String> admins = new ArrayList<>();

        @Option(names = "--token", paramLabel = "TOKEN",
                description = "An admin token for those gateways (default: $ISTHMUS_TOKEN, else each one's entry in "
                        + "the credentials file).")
        String token;

        @Option(names = "--credentials", paramLabel = "FILE", description = "The credentials file.")
        Path credentials;

        @Override
        public Integer call() {
            ClusterId id = cluster.id();
            SignedCrl crl = pki(() -> ClustersetCa.load(ca.dir).revoke(id));
            PrintWriter out = spec.commandLine().getOut();
            out.println("revoked cluster " + id + ": CRL number " + crl.number() + " (" + crl.revokedSerials().size()
                    + " revoked certificates) in " + ca.dir.resolve("ca.crl"));
            List<String> failed = new ArrayList<>();
            for (String admin : admins) {
                AdminClient client = AdminCredentials.resolve(admin, token, credentials, null, System.getenv(),
                        Path.of(System.getProperty("user.home"))).client();
                AdminClient.Reply reply;
                try {
                    reply = client.post("api/v1/mesh/crl", "application/pkix-crl", crl.pem());
                } catch (CliException e) {
                    failed.add(admin + ": " + e.getMessage());
                    continue;
                }
                if (reply.ok()) {
                    out.println("  " + admin + ": took it");
                } else {
                    failed.add(admin + ": " + reply.error());
                }
            }
            if (!failed.isEmpty()) {
                throw new CliException("the CRL is written, but these gateways did not take it: " + String.join("; ", failed));
            }
            return 0;
        }
    }

    @Command(name = "list", description = "List the certificates the CA issued.")
    static final class ListIssued implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Override
        public Integer call() {
            Table table = new Table("CLUSTER", "SERIAL", "NOT AFTER", "REVOKED");
            for (IssuedEntry entry : pki(() -> ClustersetCa.load(ca.dir).issued())) {
                table.row(entry.cluster(), entry.serial().toString(16), entry.notAfter(), entry.revoked() ? "yes" : "no");
            }
            spec.commandLine().getOut().print(table.render());
            return 0;
        }
    }
}
