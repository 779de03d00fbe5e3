package io.isthmus.gateway.cli;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.admin.AdminRole;
import io.isthmus.gateway.pki.AdminIdentity;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.IssuedAdminCertificate;
import io.isthmus.gateway.pki.IssuedAdminEntry;
import io.isthmus.gateway.pki.IssuedCertificate;
import io.isthmus.gateway.pki.IssuedEntry;
import io.isthmus.gateway.pki.KeyFiles;
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

import static io.isthmus.gateway.cli.CaDir.pki;

/**
 * The clusterset PKI: a CA that issues each cluster's peering certificate and the admin API's client certificates,
 * revokes them, and re-signs the CRL before it goes stale.
 */
@Command(name = "mesh", description = "Manage the clusterset CA, the clusters' peering certificates and admin client certificates.",
        subcommands = {MeshCommand.Init.class, MeshCommand.Issue.class, MeshCommand.Revoke.class, MeshCommand.Crl.class,
                MeshCommand.ListIssued.class, JoinCommands.JoinTokenCommand.class, JoinCommands.ServeJoins.class})
final class MeshCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
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

    /** Who a certificate is for: a cluster (a gateway's peering certificate) or an admin user. */
    static final class Subject {
        @Option(names = "--cluster", paramLabel = "ID", description = "A cluster: its gateway's peering certificate.")
        String cluster;

        @Option(names = "--user", paramLabel = "NAME", description = "An admin API user: a client certificate.")
        String user;

        ClusterId clusterId() {
            try {
                return ClusterId.of(cluster);
            } catch (InvalidFieldException e) {
                throw e.as("--cluster");
            }
        }

        /** Exactly one of --cluster and --user. */
        void requireOne() {
            if ((cluster == null) == (user == null)) {
                throw new InvalidFieldException(cluster == null ? "--cluster" : "--user",
                        cluster == null ? "" : cluster + " and --user " + user,
                        "give either --cluster ID (a gateway's peering certificate) or --user NAME (an admin's)");
            }
        }
    }

    @Command(name = "issue", description = {
            "Issue a cluster's peering certificate into OUT (the gateway's tls dir): --cluster ID --out DIR;",
            "or an admin API client certificate: --role viewer|operator|admin --user NAME --out DIR",
            "(writes NAME.admin.crt, NAME.admin.key and ca.crt; the gateway needs isthmus.admin.tls.enabled)."})
    static final class Issue implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Mixin
        Subject subject;

        @Option(names = "--role", paramLabel = "ROLE",
                description = "With --user: viewer (reads), operator (exports, allocations) or admin (everything).")
        String role;

        @Option(names = "--out", required = true, paramLabel = "DIR",
                description = "Where it is written: the gateway's isthmus.tls.dir, or the admin's own directory.")
        Path out;

        @Option(names = "--days", defaultValue = "90", paramLabel = "N",
                description = "Validity in days (default: ${DEFAULT-VALUE}); issue again before it ends to rotate.")
        int days;

        @Override
        public Integer call() {
            subject.requireOne();
            if (days < 1 || days > 3650) {
                throw new InvalidFieldException("--days", days, "must be between 1 and 3650");
            }
            if (subject.user != null) {
                if (role == null) {
                    throw new InvalidFieldException("--role", "", "an admin certificate needs a role: viewer, operator or admin");
                }
                AdminIdentity who = new AdminIdentity(subject.user, AdminRole.parse("--role", role).label());
                IssuedAdminCertificate issued = pki(() -> ClustersetCa.load(ca.dir).issueAdmin(who, Duration.ofDays(days)));
                IssuedAdminCertificate.Files files = pki(() -> issued.writeTo(out));
                spec.commandLine().getOut().println("issued an admin certificate for user " + who.user() + ", role "
                        + who.role() + " (serial " + issued.serial().toString(16) + ", valid until " + issued.notAfter()
                        + ") into " + files.certificate().getParent() + ": use it with --admin https://HOST:PORT --cacert "
                        + files.caCertificate() + " --cert " + files.certificate() + " --key " + files.privateKey());
                return 0;
            }
            if (role != null) {
                throw new InvalidFieldException("--role", role, "is for an admin certificate (--user NAME), not a cluster's");
            }
            ClusterId id = subject.clusterId();
            IssuedCertificate issued = pki(() -> ClustersetCa.load(ca.dir).issue(id, Duration.ofDays(days)));
            KeyFiles files = pki(() -> issued.writeTo(out));
            spec.commandLine().getOut().println("issued a certificate for cluster " + id + " (serial "
                    + issued.serial().toString(16) + ", valid until " + issued.notAfter() + ") into "
                    + files.certificate().getParent());
            return 0;
        }
    }

    /** Where a new CRL goes at once: running gateways, and the credentials to reach them. */
    static final class Push {
        @Option(names = "--admin", paramLabel = "URL",
                description = "A running gateway to give the new CRL to at once; repeat for several.")
        List<String> admins = new ArrayList<>();

        @Option(names = "--token", paramLabel = "TOKEN",
                description = "An admin token for those gateways (default: $ISTHMUS_TOKEN, else each one's entry in "
                        + "the credentials file).")
        String token;

        @Option(names = "--credentials", paramLabel = "FILE", description = "The credentials file.")
        Path credentials;

        @Option(names = "--cacert", paramLabel = "FILE", description = "For https gateways: the clusterset CA certificate.")
        Path caCertificate;

        @Option(names = "--cert", paramLabel = "FILE", description = "For https gateways: an admin client certificate.")
        Path clientCertificate;

        @Option(names = "--key", paramLabel = "FILE", description = "The private key of --cert.")
        Path clientKey;

        /** Gives {@code crl} to every gateway named; fails naming those that did not take it. */
        void push(SignedCrl crl, PrintWriter out) {
            var tls = new AdminCredentials.Tls(java.util.Optional.ofNullable(caCertificate),
                    java.util.Optional.ofNullable(clientCertificate), java.util.Optional.ofNullable(clientKey));
            List<String> failed = new ArrayList<>();
            for (String admin : admins) {
                AdminClient.Reply reply;
                try {
                    AdminClient client = AdminCredentials.resolve(admin, token, credentials, null, tls, System.getenv(),
                            Path.of(System.getProperty("user.home"))).client();
                    reply = client.post("api/v1/mesh/crl", "application/pkix-crl", crl.pem());
                } catch (CliException | InvalidFieldException e) {
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
        }
    }

    @Command(name = "revoke", description = "Revoke every certificate of a cluster (--cluster) or an admin user "
            + "(--user); push the new CRL to gateways.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Mixin
        Subject subject;

        @Mixin
        Push push;

        @Override
        public Integer call() {
            subject.requireOne();
            PrintWriter out = spec.commandLine().getOut();
            SignedCrl crl;
            if (subject.user != null) {
                crl = pki(() -> ClustersetCa.load(ca.dir).revokeAdmin(subject.user));
                out.println("revoked the admin certificates of user " + subject.user + ": CRL number " + crl.number()
                        + " (" + crl.revokedSerials().size() + " revoked certificates) in " + ca.dir.resolve("ca.crl"));
            } else {
                ClusterId id = subject.clusterId();
                crl = pki(() -> ClustersetCa.load(ca.dir).revoke(id));
                out.println("revoked cluster " + id + ": CRL number " + crl.number() + " (" + crl.revokedSerials().size()
                        + " revoked certificates) in " + ca.dir.resolve("ca.crl"));
            }
            push.push(crl, out);
            return 0;
        }
    }

    @Command(name = "crl", description = "Sign the current revocations again as a new CRL (valid 7 days) and push it "
            + "to gateways: run it regularly where peering.revocation.stale-crl = refuse.")
    static final class Crl implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CaDir ca;

        @Mixin
        Push push;

        @Override
        public Integer call() {
            SignedCrl crl = pki(() -> ClustersetCa.load(ca.dir).refreshCrl());
            PrintWriter out = spec.commandLine().getOut();
            out.println("signed CRL number " + crl.number() + " (" + crl.revokedSerials().size()
                    + " revoked certificates, next update " + crl.crl().getNextUpdate().toInstant() + ") in "
                    + ca.dir.resolve("ca.crl"));
            push.push(crl, out);
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
            ClustersetCa loaded = pki(() -> ClustersetCa.load(ca.dir));
            Table table = new Table("CLUSTER", "SERIAL", "NOT AFTER", "REVOKED");
            for (IssuedEntry entry : pki(loaded::issued)) {
                table.row(entry.cluster(), entry.serial().toString(16), entry.notAfter(), entry.revoked() ? "yes" : "no");
            }
            spec.commandLine().getOut().print(table.render());
            List<IssuedAdminEntry> admins = pki(loaded::issuedAdmins);
            if (!admins.isEmpty()) {
                Table adminTable = new Table("ADMIN USER", "ROLE", "SERIAL", "NOT AFTER", "REVOKED");
                for (IssuedAdminEntry entry : admins) {
                    adminTable.row(entry.identity().user(), entry.identity().role(), entry.serial().toString(16),
                            entry.notAfter(), entry.revoked() ? "yes" : "no");
                }
                spec.commandLine().getOut().print(adminTable.render());
            }
            return 0;
        }
    }
}
