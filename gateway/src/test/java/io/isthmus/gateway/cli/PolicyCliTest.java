package io.isthmus.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** {@code isthmus policy} as an operator uses it, against one real gateway, and {@code check} without one. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PolicyCliTest {
    private static final String TWO = """
            apiVersion: isthmus.io/v1alpha1
            kind: GlobalNetworkPolicy
            metadata: {name: web-from-west}
            spec:
              order: 200
              appliesTo: {namespaces: [web]}
              ingress:
                - action: Allow
                  peers: [{clusters: [west]}]
                  ports: [{protocol: TCP, port: 443}]
            ---
            apiVersion: isthmus.io/v1alpha1
            kind: GlobalNetworkPolicy
            metadata: {name: deny-db}
            spec:
              order: 10
              appliesTo: {namespaces: [db]}
              ingress: [{action: Deny}]
            """;
    private Gateway gateway;
    private String admin;
    private Path dir;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        this.dir = dir;
        new TestPki(dir.resolve("ca")).issue("east", dir.resolve("data").resolve("tls"));
        gateway = TestGateways.start("east", dir, dir.resolve("data"), """
                plan {
                  members = [east]
                  supernets.pod = [{cidr = "10.129.0.0/16", segment-prefix = 24}]
                }
                """);
        admin = "http://127.0.0.1:" + gateway.adminAddress().getPort();
    }

    @AfterAll
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void policiesAreCheckedAppliedListedShownAndDeleted() throws Exception {
        Path file = Files.writeString(dir.resolve("two.yaml"), TWO);
        Cli check = Cli.run("policy", "check", file.toString());
        assertEquals(0, check.exitCode(), check.toString());
        assertTrue(check.out().startsWith("ok deny-db (order 10"), check.out()); // evaluation order
        assertTrue(check.out().contains("2 policies valid"), check.out());

        Cli apply = Cli.run("policy", "apply", "--admin", admin, "-f", file.toString());
        assertEquals(0, apply.exitCode(), apply.toString());
        assertTrue(apply.out().contains("applied web-from-west (revision 1)"), apply.out());
        assertTrue(apply.out().contains("policy version 2:"), apply.out());
        Cli again = Cli.run("policy", "apply", "--admin", admin, "-f", file.toString());
        assertTrue(again.out().contains("unchanged deny-db"), again.toString());

        Cli list = Cli.run("policy", "list", "--admin", admin);
        assertEquals(0, list.exitCode(), list.toString());
        String[] lines = list.out().split("\n");
        assertTrue(lines[1].startsWith("deny-db") && lines[2].startsWith("web-from-west"), list.out());
        assertTrue(lines[1].contains("east"), list.out());

        Cli get = Cli.run("policy", "get", "--admin", admin, "web-from-west");
        assertEquals(0, get.exitCode(), get.toString());
        assertTrue(get.out().contains("port: 443") && get.out().contains("origin: \"east\""), get.out());

        Cli delete = Cli.run("policy", "delete", "--admin", admin, "deny-db");
        assertEquals(0, delete.exitCode(), delete.toString());
        assertTrue(delete.out().contains("deleted deny-db (revision 2); policy version 1:"), delete.out());
        Cli gone = Cli.run("policy", "get", "--admin", admin, "deny-db");
        assertEquals(1, gone.exitCode(), gone.toString());
        assertTrue(gone.err().contains("no policy deny-db"), gone.toString());

        // Several in one change: all or none.
        assertEquals(0, Cli.run("policy", "apply", "--admin", admin, "-f", file.toString()).exitCode());
        Cli unknown = Cli.run("policy", "delete", "--admin", admin, "deny-db", "nothing-here");
        assertEquals(1, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.err().contains("nothing-here") && unknown.err().contains("not a policy in force"), unknown.toString());
        assertEquals(0, Cli.run("policy", "get", "--admin", admin, "deny-db").exitCode(), "nothing was deleted");
        Cli both = Cli.run("policy", "delete", "--admin", admin, "--all");
        assertEquals(0, both.exitCode(), both.toString());
        assertTrue(both.out().contains("deleted deny-db") && both.out().contains("deleted web-from-west")
                && both.out().contains("policy version 0:"), both.out());
    }

    @Test
    void explainNamesTheRuleThatDecidesAFlowToAnExportedServicesEndpoint() throws Exception {
        io.isthmus.api.ServiceExport export = io.isthmus.api.ServiceExport.of(
                new io.isthmus.api.ServiceKey("shop", "cart"), io.isthmus.api.ServiceType.CLUSTER_SET_IP,
                java.util.List.of(new io.isthmus.api.ServicePort("https", 443, io.isthmus.api.Protocol.TCP)),
                java.util.List.of(java.net.InetAddress.ofLiteral("10.1.0.7")), java.time.Instant.now());
        gateway.exports().<io.isthmus.gateway.exports.ExportRegistry.Changed>ask(replyTo ->
                        new io.isthmus.gateway.exports.ExportRegistry.Export(export, replyTo), java.time.Duration.ofSeconds(10))
                .toCompletableFuture().get(15, java.util.concurrent.TimeUnit.SECONDS);
        Path file = Files.writeString(dir.resolve("shop.yaml"), """
                metadata: {name: shop-closed-https}
                spec:
                  appliesTo: {namespaces: [shop]}
                  ingress: [{action: Deny, ports: [{protocol: TCP, port: 443}]}]
                """);
        assertEquals(0, Cli.run("policy", "apply", "--admin", admin, "-f", file.toString()).exitCode());
        String denied = "";
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (!denied.contains("DENY") && System.nanoTime() < deadline) { // identities are read once a second
            Cli explain = Cli.run("policy", "explain", "--admin", admin, "--from", "192.0.2.9", "--to", "10.1.0.7:443/TCP");
            assertEquals(0, explain.exitCode(), explain.toString());
            denied = explain.out();
            Thread.sleep(200);
        }
        assertTrue(denied.contains("DENY") && denied.contains("shop-closed-https spec.ingress[0]"), denied);
        Cli allowed = Cli.run("policy", "explain", "--admin", admin, "--from", "192.0.2.9", "--to", "10.1.0.7:80/TCP");
        assertTrue(allowed.out().contains("ALLOW"), allowed.toString());
        Cli bad = Cli.run("policy", "explain", "--admin", admin, "--from", "not-an-ip", "--to", "10.1.0.7:80/TCP");
        assertEquals(2, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("--from 'not-an-ip'"), bad.toString());
        Cli.run("policy", "delete", "--admin", admin, "shop-closed-https");
    }

    @Test
    void explainTakesAPodByNameAndAServiceByNameAndExplainsEachAddressServingIt() throws Exception {
        io.isthmus.api.ServiceExport export = io.isthmus.api.ServiceExport.of(
                new io.isthmus.api.ServiceKey("shop", "basket"), io.isthmus.api.ServiceType.HEADLESS,
                java.util.List.of(new io.isthmus.api.ServicePort("https", 443, io.isthmus.api.Protocol.TCP)),
                java.util.List.of(java.net.InetAddress.ofLiteral("10.1.0.21"), java.net.InetAddress.ofLiteral("10.1.0.22")),
                java.time.Instant.now());
        gateway.exports().<io.isthmus.gateway.exports.ExportRegistry.Changed>ask(replyTo ->
                        new io.isthmus.gateway.exports.ExportRegistry.Export(export, replyTo), java.time.Duration.ofSeconds(10))
                .toCompletableFuture().get(15, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(0, Cli.run("ipam", "claim", "--admin", admin, "--kind", "pod").exitCode());
        Cli pool = Cli.run("ipam", "create-pool", "--admin", admin, "--name", "pods", "--cidr", "10.129.0.0/24");
        assertEquals(0, pool.exitCode(), pool.toString());
        Cli lease = Cli.run("ipam", "allocate", "--admin", admin, "--pool", "pods", "--namespace", "front",
                "--name", "web-1", "--uid", "u1");
        assertEquals(0, lease.exitCode(), lease.toString());
        Path file = Files.writeString(dir.resolve("basket.yaml"), """
                metadata: {name: basket-only-from-shop}
                spec:
                  appliesTo: {services: [shop/basket]}
                  ingress: [{action: Deny, peers: [{namespaces: [front]}], ports: [{protocol: TCP, port: 443}]}]
                """);
        assertEquals(0, Cli.run("policy", "apply", "--admin", admin, "-f", file.toString()).exitCode());

        String out = "";
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (!(out.contains("10.1.0.22") && out.contains("DENY")) && System.nanoTime() < deadline) { // identities: 1/s
            Cli explain = Cli.run("policy", "explain", "--admin", admin, "--from", "east/front/web-1",
                    "--to", "shop/basket:443/tcp");
            out = explain.exitCode() == 0 ? explain.out() : explain.toString();
            Thread.sleep(200);
        }
        assertTrue(out.contains("to east shop/basket (Headless 10.1.0.21)") && out.contains("to east shop/basket (Headless 10.1.0.22)"), out);
        assertEquals(2, out.split("basket-only-from-shop spec.ingress\\[0]", -1).length - 1, "both endpoints denied: " + out);
        Cli other = Cli.run("policy", "explain", "--admin", admin, "--from", "east/front/web-1", "--to", "shop/basket:80/tcp");
        assertTrue(other.out().contains("ALLOW") && !other.out().contains("DENY"), other.toString());

        Cli unknown = Cli.run("policy", "explain", "--admin", admin, "--from", "east/front/nobody", "--to", "10.1.0.21:443/tcp");
        assertTrue(unknown.exitCode() != 0 && unknown.err().contains("no pod nobody in namespace front of cluster east"),
                unknown.toString());
        Cli noService = Cli.run("policy", "explain", "--admin", admin, "--from", "10.129.0.9", "--to", "shop/none:443/tcp");
        assertTrue(noService.exitCode() != 0 && noService.err().contains("no cluster exports service shop/none"),
                noService.toString());
        Cli.run("policy", "delete", "--admin", admin, "basket-only-from-shop");
    }

    @Test
    void aBadFileIsRefusedHereNamingTheFileTheFieldAndTheValue() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.yaml"), TWO.replace("port: 443", "port: 70000"));
        for (String[] args : new String[][] {{"policy", "check", bad.toString()},
                {"policy", "apply", "--admin", admin, "-f", bad.toString()}}) {
            Cli cli = Cli.run(args);
            assertEquals(2, cli.exitCode(), cli.toString());
            assertTrue(cli.err().contains(bad + ": spec.ingress[0].ports[0].port '70000'"), cli.toString());
        }
        Cli missing = Cli.run("policy", "check", dir.resolve("nothing.yaml").toString());
        assertEquals(1, missing.exitCode(), missing.toString());
        assertTrue(missing.err().contains("cannot read"), missing.toString());
    }
}
