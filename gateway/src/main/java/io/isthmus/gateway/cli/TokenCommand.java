package io.isthmus.gateway.cli;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.admin.AdminRole;
import io.isthmus.gateway.admin.AdminTokens;
import io.isthmus.gateway.config.GatewayConfigLoader;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code isthmus token ...}: the admin API's bearer tokens. It works on the gateway's token file directly (on the
 * gateway's machine, as the user that runs it), so the first admin token can be made before anyone can call the API;
 * a running gateway notices the change on its next request.
 */
@Command(name = "token", description = "Make, list and revoke the admin API's bearer tokens.",
        subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
final class TokenCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Which token file: the one a gateway config names, or one given directly. */
    static final class Store {
        @ArgGroup(exclusive = true, multiplicity = "1")
        Source source;

        static final class Source {
            @Option(names = "--config", paramLabel = "FILE",
                    description = "The gateway's config: its isthmus.admin.auth.tokens-file is used.")
            Path config;

            @Option(names = "--tokens-file", paramLabel = "FILE", description = "The token file itself.")
            Path file;
        }

        AdminTokens open() {
            Path file = source.file != null ? source.file
                    : GatewayConfigLoader.load(source.config).adminAuth().tokensFile();
            return new AdminTokens(file, Clock.systemUTC());
        }
    }

    @Command(name = "create", description = "Make a token; it is printed once and stored only as a hash.")
    static final class Create implements Callable<Integer> {
        private static final Pattern TTL = Pattern.compile("(\\d{1,6})([mhd])");

        @Spec
        CommandSpec spec;

        @Mixin
        Store store;

        @Option(names = "--role", required = true, paramLabel = "ROLE",
                description = "viewer (reads), operator (exports, allocations) or admin (everything).")
        String role;

        @Option(names = "--user", required = true, paramLabel = "NAME",
                description = "Who the token is for; the audit log names them.")
        String user;

        @Option(names = "--ttl", paramLabel = "N{m|h|d}",
                description = "How long it lasts, e.g. 12h or 90d (default: until revoked).")
        String ttl;

        @Override
        public Integer call() {
            AdminRole parsedRole = AdminRole.parse("--role", role);
            Optional<Duration> lifetime = Optional.ofNullable(ttl).map(text -> ttl("--ttl", text));
            AdminTokens tokens = store.open();
            AdminTokens.Created created = tokens.create(user, parsedRole, lifetime);
            PrintWriter out = spec.commandLine().getOut();
            out.println(created.token());
            spec.commandLine().getErr().println("made token " + created.entry().id() + " for " + user + " (role "
                    + parsedRole.label() + created.entry().expires().map(e -> ", expires " + e).orElse("")
                    + ") in " + tokens.file() + "; it is shown only this once: keep it in a credentials file or "
                    + "$" + AdminCredentials.TOKEN_ENV);
            return 0;
        }

        /** A lifetime as a positive number and m, h or d; {@code field} names the option in the error. */
        static Duration ttl(String field, String text) {
            Matcher m = TTL.matcher(text);
            if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
                throw new InvalidFieldException(field, text, "expected a positive number and m, h or d, e.g. 90d");
            }
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        }
    }

    @Command(name = "list", description = "List the tokens (never their secrets).")
    static final class ListTokens implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Store store;

        @Override
        public Integer call() {
            Table table = new Table("ID", "USER", "ROLE", "CREATED", "EXPIRES");
            for (AdminTokens.Entry e : store.open().list()) {
                table.row(e.id(), e.user(), e.role().label(), e.created(), e.expires().map(Object::toString).orElse("never"));
            }
            spec.commandLine().getOut().print(table.render());
            return 0;
        }
    }

    @Command(name = "revoke", description = "Revoke a token by its id; a running gateway refuses it at once.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Store store;

        @Parameters(paramLabel = "ID", description = "The token's id (the part after isth_, as `token list` shows).")
        String id;

        @Override
        public Integer call() {
            AdminTokens tokens = store.open();
            if (!tokens.revoke(id)) {
                throw new InvalidFieldException("ID", id, "is not a token in " + tokens.file());
            }
            spec.commandLine().getOut().println("revoked token " + id);
            return 0;
        }
    }
}
