package io.isthmus.gateway.k8s;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.cli.IsthmusCli;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.JoinService;
import io.isthmus.gateway.pki.JoinToken;
import io.isthmus.gateway.pki.JoinTokens;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Kubernetes join: the Job's command stores the joined files in the Secret the gateways mount, once. */
class JoinIntoSecretTest {
    private static final String SECRET = "isthmus-system/isthmus-tls";

    @TempDir
    Path root;

    @Test
    void theJoinedFilesLandInTheSecretAndASecondRunLeavesThemAndItsTokenAlone() throws Exception {
        ClustersetCa ca = ClustersetCa.init(root.resolve("ca"));
        JoinTokens tokens = new JoinTokens(ca);
        List<JoinService.Outcome> outcomes = new ArrayList<>();
        try (KubernetesApiMock api = KubernetesApiMock.start(List.of());
             JoinService service = JoinService.start(new InetSocketAddress("127.0.0.1", 0),
                     ca.joinServiceIdentity(List.of("127.0.0.1"), Duration.ofMinutes(5)), tokens, outcomes::add)) {
            URI url = URI.create("https://127.0.0.1:" + service.address().getPort());
            JoinToken first = tokens.create(ClusterId.of("east"), Duration.ofMinutes(10), Duration.ofDays(1), url,
                    List.of("10.0.0.5:7071"));

            Run joined = run("join", first.text(), "--tls-dir", root.resolve("work1").toString(),
                    "--kubernetes-secret", SECRET, "--kubernetes-master", api.url());
            assertEquals(0, joined.code, joined.toString());
            Secret secret = api.client().secrets().inNamespace("isthmus-system").withName("isthmus-tls").get();
            assertEquals(Set.of("east.crt", "east.key", "ca.crt", "ca.crl", "peers.joined"), secret.getData().keySet());
            assertEquals("10.0.0.5:7071\n", decode(secret, "peers.joined"));
            assertTrue(decode(secret, "east.key").contains("PRIVATE KEY"));
            assertEquals(ca.certificatePem(), decode(secret, "ca.crt"));

            JoinToken second = tokens.create(ClusterId.of("east"), Duration.ofMinutes(10), Duration.ofDays(1), url, List.of());
            Run again = run("join", second.text(), "--tls-dir", root.resolve("work2").toString(),
                    "--kubernetes-secret", SECRET, "--kubernetes-master", api.url());
            assertEquals(0, again.code, again.toString());
            assertTrue(again.out.contains("already holds"), again.out);
            assertEquals(secret.getData(), api.client().secrets().inNamespace("isthmus-system").withName("isthmus-tls")
                    .get().getData(), "the Secret is left as it was");
            assertEquals(1, outcomes.size(), "the second token was not spent: " + outcomes);
        }
    }

    @Test
    void aBadSecretNameIsRefusedNamingTheOption() {
        Run bad = run("join", "isthmus-join-1.x", "--tls-dir", root.toString(), "--kubernetes-secret", "Not/Valid_");
        assertEquals(2, bad.code, bad.toString());
        assertTrue(bad.err.contains("--kubernetes-secret") || bad.err.contains("TOKEN"), bad.err);
        Run badName = run("join", "--tls-dir", root.toString(), "--kubernetes-secret", "isthmus-tls", "--token-file",
                root.resolve("none").toString());
        assertEquals(2, badName.code, badName.toString());
    }

    @Test
    void theJoinJobWritesTheSecretTheGatewaysMountAndMayTouchNoOther() throws Exception {
        List<HasMetadata> join = io.isthmus.gateway.k8s.ipam.DeployManifestsAccess.render(Path.of("..", "k8s", "deploy", "join"));
        List<HasMetadata> deploy = io.isthmus.gateway.k8s.ipam.DeployManifestsAccess.render(Path.of("..", "k8s", "deploy"));
        Job job = only(join, Job.class);
        List<String> args = job.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs();
        String target = args.get(args.indexOf("--kubernetes-secret") + 1);
        Deployment gateway = only(deploy, Deployment.class);
        String mounted = gateway.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getSecret() != null && "tls".equals(v.getName())).map(Volume::getSecret)
                .findFirst().orElseThrow().getSecretName();
        assertEquals("isthmus-system/" + mounted, target, "the Job writes the Secret the gateways mount as their tls dir");
        Role role = only(join, Role.class);
        role.getRules().forEach(rule -> {
            assertEquals(List.of("secrets"), rule.getResources());
            if (!rule.getVerbs().equals(List.of("create"))) {
                assertEquals(List.of(mounted), rule.getResourceNames(), "get/update only on " + mounted);
            }
        });
        assertEquals("isthmus-system", job.getMetadata().getNamespace());
    }

    private static <T extends HasMetadata> T only(List<HasMetadata> objects, Class<T> kind) {
        List<T> matching = objects.stream().filter(kind::isInstance).map(kind::cast).toList();
        assertEquals(1, matching.size(), kind.getSimpleName() + "s: " + matching);
        return matching.getFirst();
    }

    private static String decode(Secret secret, String key) {
        return new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
    }

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = IsthmusCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }
}
