package io.isthmus.gateway.k8s.ipam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.k8s.controller.Controller;
import io.isthmus.k8s.crd.ClusterPeer;
import io.isthmus.k8s.crd.ClusterPeerSpec;
import io.isthmus.k8s.crd.ClusterPeerStatus;
import io.isthmus.k8s.crd.GlobalNetworkPolicy;
import io.isthmus.k8s.crd.GlobalNetworkPolicySpec;
import io.isthmus.k8s.crd.GlobalNetworkPolicyStatus;
import io.isthmus.k8s.crd.IPPool;
import io.isthmus.k8s.crd.IPPoolSpec;
import io.isthmus.k8s.crd.IPPoolStatus;
import io.isthmus.k8s.crd.IpPoolReconciler;
import io.isthmus.k8s.crd.IsthmusResources;
import io.isthmus.k8s.pods.PodOwners;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * k8s/deploy as {@code kubectl kustomize} renders it (Debian's kubectl; scripts/test installs it), every object parsed
 * by fabric8: the kinds, the references between objects, the HOCON loaded by the gateway's own config loader, probes
 * and ports against that config, the CRDs against the Java models, and RBAC against the requests the code makes.
 */
class DeployManifestsTest {
    private static final Path DEPLOY = Path.of("..", "k8s", "deploy");
    private static final String NAMESPACE = "isthmus-system";
    /** Secrets the operator makes (k8s/README.md says how), with the keys the manifests use. */
    private static final Map<String, Set<String>> OPERATOR_SECRETS = Map.of(
            "isthmus-postgres", Set.of("url", "user", "password", "ca.crt"),
            "isthmus-tls", Set.of(),
            "isthmus-admin-tokens", Set.of("tokens.json"));
    /** The only container that runs as root, and the only capability any container gets. */
    private static final String ROOT_CONTAINER = "cni-install";
    private static final Map<String, Set<String>> ADDED_CAPABILITIES = Map.of("cni-install", Set.of("CHOWN"));

    private static List<HasMetadata> objects;

    @BeforeAll
    static void render() throws Exception {
        objects = render(DEPLOY);
    }

    /** {@code kubectl kustomize dir}, every object parsed by fabric8. */
    static List<HasMetadata> render(Path dir) throws Exception {
        Process kubectl;
        try {
            kubectl = new ProcessBuilder("kubectl", "kustomize", dir.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("kubectl is needed to render " + dir + " (scripts/test installs Debian's "
                    + "kubernetes-client): " + e.getMessage(), e);
        }
        byte[] out = kubectl.getInputStream().readAllBytes();
        assertTrue(kubectl.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize did not finish");
        assertEquals(0, kubectl.exitValue(), "kubectl kustomize " + dir + " failed:\n" + new String(out, StandardCharsets.UTF_8));
        try (KubernetesClient offline = new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder().withMasterUrl("https://127.0.0.1:1").build()).build()) {
            List<HasMetadata> rendered = offline.load(new ByteArrayInputStream(out)).items();
            for (HasMetadata object : rendered) {
                List<String> unknown = UnknownFields.in(object);
                assertEquals(List.of(), unknown, object.getKind() + " " + object.getMetadata().getName() + " in " + dir
                        + " has fields the Kubernetes model does not know (misspelt or misplaced?)");
            }
            return rendered;
        }
    }

    @Test
    void aMisspeltOrMisplacedFieldIsFoundByItsPath() {
        String manifest = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: d, namespace: n}
                spec:
                  replicas: 1
                  template:
                    spec:
                      containers:
                        - name: c
                          image: i
                          imagePullPolicyy: Always
                          resources: {requests: {cpu: 1m}, limit: {memory: 1Mi}}
                """;
        try (KubernetesClient offline = new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder().withMasterUrl("https://127.0.0.1:1").build()).build()) {
            HasMetadata parsed = offline.load(new ByteArrayInputStream(manifest.getBytes(StandardCharsets.UTF_8))).items().getFirst();
            assertEquals(Set.of(".spec.template.spec.containers[0].imagePullPolicyy",
                    ".spec.template.spec.containers[0].resources.limit"), Set.copyOf(UnknownFields.in(parsed)));
        }
    }

    @Test
    void rendersTheExpectedObjectsAllInTheIsthmusNamespace() {
        Map<String, Long> kinds = objects.stream().collect(Collectors.groupingBy(HasMetadata::getKind, java.util.TreeMap::new, Collectors.counting()));
        assertEquals(Map.ofEntries(Map.entry("ClusterRole", 2L), Map.entry("ClusterRoleBinding", 2L),
                Map.entry("ConfigMap", 2L), Map.entry("CustomResourceDefinition", 3L), Map.entry("DaemonSet", 1L),
                Map.entry("Deployment", 1L), Map.entry("Namespace", 1L), Map.entry("NetworkPolicy", 1L), Map.entry("PodDisruptionBudget", 1L),
                Map.entry("Role", 1L), Map.entry("RoleBinding", 1L), Map.entry("Service", 2L), Map.entry("ServiceAccount", 2L)), kinds);
        Set<String> clusterScoped = Set.of("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding");
        for (HasMetadata object : objects) {
            String where = clusterScoped.contains(object.getKind()) ? null : NAMESPACE;
            assertEquals(where, object.getMetadata().getNamespace(), object.getKind() + " " + object.getMetadata().getName());
        }
        assertEquals(NAMESPACE, one(io.fabric8.kubernetes.api.model.Namespace.class, NAMESPACE).getMetadata().getName());
    }

    @Test
    void theCrdsMatchTheJavaModels() throws Exception {
        assertEquals(new TreeSet<>(IsthmusResources.CRD_NAMES),
                objects.stream().filter(o -> o instanceof CustomResourceDefinition).map(o -> o.getMetadata().getName())
                        .collect(Collectors.toCollection(TreeSet::new)));
        ObjectMapper json = new ObjectMapper();
        KubernetesSerialization serialization = new KubernetesSerialization();
        // A sample of every model with every field set: each field it writes must be in the CRD's schema.
        IPPool pool = named(new IPPool(), "pods");
        pool.setSpec(new IPPoolSpec("pod", List.of("10.128.4.0/24"), List.of("10.128.4.10-10.128.4.20"),
                List.of("10.128.4.100"), List.of("10.128.4.1"), List.of(new IPPoolSpec.PoolRoute("0.0.0.0/0", "10.128.4.1"))));
        pool.setStatus(new IPPoolStatus(List.of(new io.fabric8.kubernetes.api.model.ConditionBuilder().withType("Ready")
                .withStatus("True").withReason("PoolReady").withMessage("m").withObservedGeneration(1L)
                .withLastTransitionTime("2026-01-01T00:00:00Z").build()), 1L, "253", 1L, 0L, 0L, 0L, List.of("pod 10.128.0.0/16")));
        ClusterPeer peer = named(new ClusterPeer(), "west");
        peer.setSpec(new ClusterPeerSpec("west", List.of("203.0.113.7:7071"), new ClusterPeerSpec.CaBundleRef(
                new ClusterPeerSpec.KeyRef(NAMESPACE, "isthmus-ca", "ca.crt"), null)));
        peer.setStatus(new ClusterPeerStatus(List.of(), 1L, "Up", 3L, "2026-01-01T00:00:00Z"));
        GlobalNetworkPolicy policy = named(new GlobalNetworkPolicy(), "deny-db");
        var selector = new io.fabric8.kubernetes.api.model.LabelSelectorBuilder().addToMatchLabels("app", "db")
                .addNewMatchExpression().withKey("tier").withOperator("In").withValues("back").endMatchExpression().build();
        // Every field at once (not a valid policy: the sample is about field names, not values).
        var peers = new GlobalNetworkPolicySpec.Peers(List.of("east"), List.of("db"), selector, selector,
                List.of("db/pg"), List.of("10.0.0.0/8"));
        var rule = new GlobalNetworkPolicySpec.Rule("Deny", List.of(peers),
                List.of(new GlobalNetworkPolicySpec.Port("TCP", 5432, 5433)));
        policy.setSpec(new GlobalNetworkPolicySpec(100, peers, List.of(rule), List.of(rule), "Required"));
        policy.setStatus(new GlobalNetworkPolicyStatus(List.of(new io.fabric8.kubernetes.api.model.ConditionBuilder()
                .withType("Accepted").withStatus("True").withReason("Applied").withMessage("m").withObservedGeneration(1L)
                .withLastTransitionTime("2026-01-01T00:00:00Z").build()), 1L, 3L, "east", "1:0123456789ab",
                List.of(new GlobalNetworkPolicyStatus.ClusterVersion("east", "1:0123456789ab"))));

        for (CustomResource<?, ?> sample : List.<CustomResource<?, ?>>of(pool, peer, policy)) {
            CustomResourceDefinition crd = one(CustomResourceDefinition.class, sample.getPlural() + "." + sample.getGroup());
            assertEquals(sample.getKind(), crd.getSpec().getNames().getKind());
            assertEquals(sample.getGroup(), crd.getSpec().getGroup());
            assertEquals("Cluster", crd.getSpec().getScope(), "our resources are cluster-scoped");
            assertEquals(List.of(CustomResource.getShortNames(sample.getClass())), crd.getSpec().getNames().getShortNames());
            CustomResourceDefinitionVersion version = crd.getSpec().getVersions().getFirst();
            assertEquals(sample.getVersion(), version.getName());
            assertNotNull(version.getSubresources().getStatus(), sample.getKind() + " has a status subresource");
            JsonNode written = json.readTree(serialization.asJson(sample));
            assertFieldsInSchema(sample.getKind(), written.get("spec"), version.getSchema().getOpenAPIV3Schema().getProperties().get("spec"));
            assertFieldsInSchema(sample.getKind(), written.get("status"), version.getSchema().getOpenAPIV3Schema().getProperties().get("status"));
            assertTrue(crd.getMetadata().getLabels().containsKey("app.kubernetes.io/part-of"));
            if (sample == policy) {
                // The controller hands the object as this model holds it to the policy reader: the model must hold
                // every field the schema lets through, or a field would be dropped unnoticed.
                assertSchemaInFields(sample.getKind(), written.get("spec"), version.getSchema().getOpenAPIV3Schema().getProperties().get("spec"));
                assertSchemaInFields(sample.getKind(), written.get("status"), version.getSchema().getOpenAPIV3Schema().getProperties().get("status"));
            }
        }
    }

    @Test
    void everyReferencedServiceAccountConfigMapAndSecretExists() throws Exception {
        String readme = Files.readString(Path.of("..", "k8s", "README.md"));
        for (String secret : OPERATOR_SECRETS.keySet()) {
            assertTrue(readme.contains(secret), "k8s/README.md tells how to make the Secret " + secret);
        }
        for (PodTemplateSpec template : templates().values()) {
            String account = template.getSpec().getServiceAccountName();
            assertNotNull(one(ServiceAccount.class, account));
            for (Volume volume : template.getSpec().getVolumes()) {
                if (volume.getConfigMap() != null) {
                    assertNotNull(one(ConfigMap.class, volume.getConfigMap().getName()));
                }
                if (volume.getSecret() != null) {
                    Set<String> keys = OPERATOR_SECRETS.get(volume.getSecret().getSecretName());
                    assertNotNull(keys, "Secret " + volume.getSecret().getSecretName() + " is one the README names");
                    if (volume.getSecret().getItems() != null) {
                        volume.getSecret().getItems().forEach(item -> assertTrue(keys.contains(item.getKey()), item.getKey()));
                    }
                }
            }
            for (Container container : containers(template)) {
                for (EnvVar env : Optional.ofNullable(container.getEnv()).orElse(List.of())) {
                    if (env.getValueFrom() == null) {
                        continue;
                    }
                    var configKey = env.getValueFrom().getConfigMapKeyRef();
                    if (configKey != null) {
                        assertTrue(one(ConfigMap.class, configKey.getName()).getData().containsKey(configKey.getKey()),
                                env.getName() + ": " + configKey);
                    }
                    var secretKey = env.getValueFrom().getSecretKeyRef();
                    if (secretKey != null) {
                        assertTrue(OPERATOR_SECRETS.getOrDefault(secretKey.getName(), Set.of()).contains(secretKey.getKey()),
                                env.getName() + ": " + secretKey);
                    }
                }
            }
        }
        for (ClusterRoleBinding binding : all(ClusterRoleBinding.class)) {
            assertNotNull(one(ClusterRole.class, binding.getRoleRef().getName()));
            binding.getSubjects().forEach(subject -> {
                assertEquals(NAMESPACE, subject.getNamespace());
                assertNotNull(one(ServiceAccount.class, subject.getName()));
            });
        }
        PodDisruptionBudget budget = one(PodDisruptionBudget.class, "isthmus-gateway");
        assertTrue(selects(budget.getSpec().getSelector().getMatchLabels(), templates().get("isthmus-gateway")));
        for (Service service : all(Service.class)) {
            PodTemplateSpec gateway = templates().get("isthmus-gateway");
            assertTrue(selects(service.getSpec().getSelector(), gateway), service.getMetadata().getName());
            service.getSpec().getPorts().forEach(port -> assertTrue(containers(gateway).getFirst().getPorts().stream()
                    .anyMatch(p -> p.getName().equals(port.getTargetPort().getStrVal())), port.getName()));
        }
    }

    @Test
    void theGatewayConfigLoadsAndProbesAndPortsPointAtIt() throws Exception {
        Deployment deployment = one(Deployment.class, "isthmus-gateway");
        assertTrue(deployment.getSpec().getReplicas() >= 2, "2 or more replicas");
        assertNotNull(deployment.getSpec().getTemplate().getSpec().getAffinity().getPodAntiAffinity());
        Map<String, GatewayConfig> configs = new HashMap<>();
        for (Map.Entry<String, PodTemplateSpec> entry : templates().entrySet()) {
            PodTemplateSpec template = entry.getValue();
            Container main = containers(template).getLast();
            assertEquals("gateway", main.getArgs().getFirst());
            GatewayConfig config = load(template, main);
            configs.put(entry.getKey(), config);

            assertProbe(main.getLivenessProbe(), "/healthz", main, config.admin().port());
            assertProbe(main.getReadinessProbe(), "/readyz", main, config.admin().port());
            Map<String, String> annotations = Optional.ofNullable(template.getMetadata().getAnnotations()).orElse(Map.of());
            if ("true".equals(annotations.get("prometheus.io/scrape"))) {
                assertEquals(String.valueOf(config.admin().port()), annotations.get("prometheus.io/port"));
                assertEquals("/metrics", annotations.get("prometheus.io/path"));
            }
            assertNotNull(main.getResources().getRequests().get("memory"));
            assertNotNull(main.getResources().getLimits().get("memory"));

            GatewayConfig.KubernetesApiDiscovery discovery = config.replicas().kubernetesApi().orElseThrow();
            assertEquals(discovery.managementPort(), port(main, "management"));
            assertEquals(config.replicas().listen().port(), port(main, "remoting"));
            String[] selector = discovery.podLabelSelector().split("=", 2);
            assertEquals(selector[1], template.getMetadata().getLabels().get(selector[0]),
                    entry.getKey() + " pods are found by the bootstrap's selector");
            assertTrue(config.journal() instanceof GatewayConfig.PostgresJournal, "replicas share a PostgreSQL journal");
            assertEquals(Path.of("/etc/isthmus/tls"), config.tlsDir());
            assertTrue(mountPath(template, main, "tls").isPresent());
            assertEquals(KubernetesIpamSettings.OwnerSource.PODS, config.kubernetes().ipam().ownerSource(),
                    "every replica may run pools, so every replica takes its owners from the pods");
        }
        assertTrue(configs.get("isthmus-gateway").kubernetes().ipam().pools(), "the gateways reconcile IPPools");
        assertFalse(configs.get("isthmus-node").kubernetes().ipam().pools(), "the node agents do not");
        assertTrue(configs.get("isthmus-gateway").kubernetes().policies(), "the gateways take GlobalNetworkPolicies in");
        assertFalse(configs.get("isthmus-node").kubernetes().policies(), "the node agents do not (no RBAC for them)");

        DaemonSet node = one(DaemonSet.class, "isthmus-node");
        PodTemplateSpec template = node.getSpec().getTemplate();
        Path socket = configs.get("isthmus-node").ipam().cniSocket().orElseThrow();
        Volume run = volume(template, "run");
        assertEquals(socket.getParent().toString(), run.getHostPath().getPath(), "the CNI socket is on the node");
        assertEquals(socket.getParent().toString(), mountPath(template, containers(template).getLast(), "run").orElseThrow());
        Container install = template.getSpec().getInitContainers().getFirst();
        assertEquals(List.of("cni-install", "/host/opt/cni/bin", "--socket-dir", "/host/run/isthmus", "--socket-owner",
                template.getSpec().getSecurityContext().getRunAsUser() + ":" + template.getSpec().getSecurityContext()
                        .getRunAsGroup()), install.getArgs(), "the socket directory goes to the agent's uid and gid");
        assertEquals("/host/run/isthmus", mountPath(template, install, "run").orElseThrow());
        assertEquals("/opt/cni/bin", volume(template, install.getVolumeMounts().getFirst().getName()).getHostPath().getPath());
        assertEquals("/host/opt/cni/bin", install.getVolumeMounts().getFirst().getMountPath());
    }

    @Test
    void everyContainerRunsWithoutRootPrivilegesCapabilitiesOrSyscallsItDoesNotNeed() {
        for (Map.Entry<String, PodTemplateSpec> entry : templates().entrySet()) {
            PodTemplateSpec template = entry.getValue();
            var pod = template.getSpec().getSecurityContext();
            assertNotNull(pod, entry.getKey() + " has a pod securityContext");
            assertEquals("RuntimeDefault", pod.getSeccompProfile().getType(), entry.getKey() + " seccomp");
            assertEquals(Boolean.TRUE, pod.getRunAsNonRoot(), entry.getKey() + " runAsNonRoot");
            assertTrue(pod.getRunAsUser() != null && pod.getRunAsUser() > 0, entry.getKey() + " runs as a uid of its own");
            assertEquals(pod.getRunAsGroup(), pod.getFsGroup(), "mounted Secrets are readable through the fsGroup");
            for (Container container : containers(template)) {
                String where = entry.getKey() + "/" + container.getName();
                var security = container.getSecurityContext();
                assertNotNull(security, where + " has a securityContext");
                boolean root = Long.valueOf(0).equals(security.getRunAsUser());
                if (container.getName().equals(ROOT_CONTAINER)) {
                    assertTrue(root, where + " is the one container that needs root (the node's /opt/cni/bin)");
                } else {
                    assertFalse(root, where + " runs as root");
                    assertTrue(!Boolean.FALSE.equals(security.getRunAsNonRoot()), where + " may not turn runAsNonRoot off");
                }
                assertEquals(Boolean.FALSE, security.getAllowPrivilegeEscalation(), where + " allowPrivilegeEscalation");
                assertEquals(Boolean.TRUE, security.getReadOnlyRootFilesystem(), where + " readOnlyRootFilesystem");
                assertTrue(security.getPrivileged() == null || !security.getPrivileged(), where + " privileged");
                assertTrue(security.getSeccompProfile() == null
                        || "RuntimeDefault".equals(security.getSeccompProfile().getType()), where + " seccomp");
                assertEquals(List.of("ALL"), security.getCapabilities().getDrop(), where + " drops every capability");
                assertEquals(ADDED_CAPABILITIES.getOrDefault(container.getName(), Set.of()),
                        Set.copyOf(Optional.ofNullable(security.getCapabilities().getAdd()).orElse(List.of())),
                        where + " adds only what it needs");
                assertNotNull(container.getResources().getLimits().get("memory"), where + " has a memory limit");
            }
            assertFalse(Boolean.TRUE.equals(template.getSpec().getHostPID()), entry.getKey() + " hostPID");
            assertFalse(Boolean.TRUE.equals(template.getSpec().getHostIPC()), entry.getKey() + " hostIPC");
            for (Volume volume : template.getSpec().getVolumes()) {
                if (volume.getSecret() != null) {
                    int mode = volume.getSecret().getDefaultMode();
                    assertEquals(0440, mode, volume.getName() + ": owner and the fsGroup read it, nobody else, nobody writes");
                }
                if (volume.getHostPath() != null) {
                    assertTrue(Set.of("/opt/cni/bin", "/run/isthmus").contains(volume.getHostPath().getPath()),
                            entry.getKey() + " mounts " + volume.getHostPath().getPath() + " of the host");
                }
            }
        }
        PodTemplateSpec node = templates().get("isthmus-node");
        for (Container container : node.getSpec().getContainers()) {
            assertTrue(mountPath(node, container, "cni-bin").isEmpty(), "only the installer writes the host's CNI plugins");
        }
        assertTrue(templates().get("isthmus-gateway").getSpec().getVolumes().stream().allMatch(v -> v.getHostPath() == null),
                "the gateways mount nothing of the host");
    }

    @Test
    void secretsAreReadableThroughTheApiByNameOnly() {
        List<PolicyRule> rules = new ArrayList<>();
        all(ClusterRole.class).forEach(role -> rules.addAll(role.getRules()));
        all(io.fabric8.kubernetes.api.model.rbac.Role.class).forEach(role -> rules.addAll(role.getRules()));
        boolean anySecret = false;
        for (PolicyRule rule : rules) {
            assertFalse(rule.getResources().contains("*") || rule.getVerbs().contains("*") || rule.getApiGroups().contains("*"),
                    "no wildcard rule: " + rule);
            if (rule.getApiGroups().contains("") && rule.getResources().contains("secrets")) {
                anySecret = true;
                assertFalse(Optional.ofNullable(rule.getResourceNames()).orElse(List.of()).isEmpty(),
                        "Secrets only by name: " + rule);
                assertEquals(List.of("get"), rule.getVerbs(), "Secrets are read, one by one, never listed: " + rule);
            }
        }
        assertTrue(anySecret, "the ClusterPeer CA bundle rule is there");
        for (ClusterRole role : all(ClusterRole.class)) {
            assertTrue(role.getRules().stream().noneMatch(r -> r.getResources().contains("secrets")),
                    "no cluster-wide Secret rights in " + role.getMetadata().getName());
        }
    }

    @Test
    void thePostgresJournalVerifiesTheServersCertificateAndName() throws Exception {
        for (Map.Entry<String, PodTemplateSpec> entry : templates().entrySet()) {
            Container main = containers(entry.getValue()).getLast();
            GatewayConfig.PostgresJournal journal = (GatewayConfig.PostgresJournal) load(entry.getValue(), main).journal();
            assertTrue(journal.url().contains("sslmode=verify-full"), entry.getKey() + ": " + journal.url());
            Matcher rootCert = Pattern.compile("sslrootcert=([^&]+)").matcher(journal.url());
            assertTrue(rootCert.find(), "the CA the server's certificate is checked against: " + journal.url());
            Path caFile = Path.of(rootCert.group(1));
            assertEquals(mountPath(entry.getValue(), main, "postgres").orElseThrow(), caFile.getParent().toString());
            assertTrue(volume(entry.getValue(), "postgres").getSecret().getItems().stream()
                    .anyMatch(item -> item.getPath().equals(caFile.getFileName().toString())), "the CA is in the Secret");
        }
        String readme = Files.readString(Path.of("..", "k8s", "README.md"));
        Matcher example = Pattern.compile("url='?(jdbc:postgresql://[^'\\s]+)").matcher(readme);
        assertTrue(example.find(), "k8s/README.md shows the Secret's url");
        assertTrue(example.group(1).contains("sslmode=verify-full"), "the README's url verifies the server: " + example.group(1));
    }

    @Test
    void theAdminApiNeedsATokenAndOnlyThePolicysClientsReachIt() throws Exception {
        for (Map.Entry<String, PodTemplateSpec> entry : templates().entrySet()) {
            PodTemplateSpec template = entry.getValue();
            Container main = containers(template).getLast();
            String text = configText(template, main);
            // as in the pod: ${?POD_IP} set (a root key of the same document stands in for the environment)
            var withPodIp = ConfigFactory.parseString("POD_IP = \"10.0.0.5\"\n" + text).resolve().getConfig("isthmus.admin");
            var alone = ConfigFactory.parseString(text).resolve().getConfig("isthmus.admin");
            assertTrue(withPodIp.getBoolean("auth.enabled"), entry.getKey() + ": admin auth is on");
            assertEquals("127.0.0.1", alone.getString("host"), entry.getKey() + ": loopback when the pod IP is unknown");
            boolean scraped = "true".equals(Optional.ofNullable(template.getMetadata().getAnnotations()).orElse(Map.of())
                    .get("prometheus.io/scrape"));
            assertEquals(scraped, withPodIp.getBoolean("auth.metrics-open"),
                    entry.getKey() + ": /metrics is open exactly when Prometheus scrapes it");
            Path tokens = Path.of(withPodIp.getString("auth.tokens-file"));
            Volume tokenVolume = template.getSpec().getVolumes().stream().filter(v -> mountPath(template, main, v.getName())
                    .filter(tokens.getParent().toString()::equals).isPresent()).findFirst()
                    .orElseThrow(() -> new AssertionError(entry.getKey() + ": no volume holds " + tokens));
            assertEquals("isthmus-admin-tokens", tokenVolume.getSecret().getSecretName());
            assertTrue(tokenVolume.getSecret().getItems().stream().anyMatch(i -> i.getPath().equals(tokens.getFileName().toString())));
            if (Boolean.TRUE.equals(template.getSpec().getHostNetwork())) {
                // the pod IP is the node's, which no NetworkPolicy guards
                assertEquals("127.0.0.1", withPodIp.getString("host"), entry.getKey() + " keeps its admin API on loopback");
                assertFalse(scraped, entry.getKey() + " cannot be scraped on loopback");
                for (Probe probe : List.of(main.getLivenessProbe(), main.getReadinessProbe())) {
                    assertEquals("127.0.0.1", probe.getHttpGet().getHost(), entry.getKey() + ": the kubelet probes loopback");
                }
            } else {
                assertEquals("10.0.0.5", withPodIp.getString("host"), entry.getKey() + ": the admin API on the pod IP only");
                assertTrue(withPodIp.getBoolean("tls.enabled"), entry.getKey() + ": over TLS on the pod network");
                for (Probe probe : List.of(main.getLivenessProbe(), main.getReadinessProbe())) {
                    assertEquals("HTTPS", probe.getHttpGet().getScheme(), entry.getKey() + ": the kubelet probes over TLS");
                }
                if (scraped) {
                    assertEquals("https", template.getMetadata().getAnnotations().get("prometheus.io/scheme"));
                }
            }
        }
        PodTemplateSpec gateway = templates().get("isthmus-gateway");
        List<io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy> policies =
                all(io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class).stream()
                        .filter(p -> selects(p.getSpec().getPodSelector().getMatchLabels(), gateway)).toList();
        assertEquals(1, policies.size(), "one NetworkPolicy guards the gateways");
        var policy = policies.getFirst().getSpec();
        assertTrue(policy.getPolicyTypes().contains("Ingress"));
        int adminPort = port(containers(gateway).getLast(), "admin");
        boolean adminReachable = false;
        for (var rule : policy.getIngress()) {
            assertFalse(rule.getPorts() == null || rule.getPorts().isEmpty(), "every rule names its ports: " + rule);
            boolean admin = rule.getPorts().stream().anyMatch(p -> "admin".equals(p.getPort().getStrVal())
                    || Integer.valueOf(adminPort).equals(p.getPort().getIntVal()));
            if (admin) {
                adminReachable = true;
                assertFalse(rule.getFrom() == null || rule.getFrom().isEmpty(), "the admin port is not open to all: " + rule);
                for (var from : rule.getFrom()) {
                    assertTrue(from.getIpBlock() == null, "no address block reaches the admin port: " + from);
                    assertTrue(from.getPodSelector() != null && !from.getPodSelector().getMatchLabels().isEmpty(),
                            "only labelled pods reach the admin port: " + from);
                }
            }
        }
        assertTrue(adminReachable, "the policy names who reaches the admin port");
    }

    @Test
    void rbacCoversEveryRequestTheCodeMakes() throws Exception {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        try (KubernetesClient admin = server.createClient();
             KubernetesClient gateway = new KubernetesClientBuilder().withConfig(new ConfigBuilder(admin.getConfiguration())
                     .withUserAgent("isthmus-gateway-under-test").build()).build()) {
            admin.resource(named(new IPPool(), "pods")).create();
            io.isthmus.k8s.crd.ClusterPeer peer = named(new io.isthmus.k8s.crd.ClusterPeer(), "north");
            peer.setSpec(new io.isthmus.k8s.crd.ClusterPeerSpec("north", List.of("north.example:7071"),
                    new io.isthmus.k8s.crd.ClusterPeerSpec.CaBundleRef(
                            new io.isthmus.k8s.crd.ClusterPeerSpec.KeyRef(NAMESPACE, "isthmus-ca", null), null)));
            admin.resource(peer).create();
            GlobalNetworkPolicy policy = named(new GlobalNetworkPolicy(), "deny-db");
            policy.setSpec(new GlobalNetworkPolicySpec(null, new GlobalNetworkPolicySpec.Peers(null, null, null, null,
                    null, null), null, null));
            admin.resource(policy).create();
            // Every part of the code that talks to the API server, with a port that refuses (a status write follows).
            try (PodOwners pods = PodOwners.start(gateway, Duration.ZERO);
                 Controller<String> reconciler = IpPoolReconciler.start(gateway, new io.isthmus.k8s.crd.PoolCatalog() {
                     @Override
                     public java.util.concurrent.CompletionStage<AppliedPool> ensure(io.isthmus.api.ipam.PoolSpec spec,
                                                                                     String kind) {
                         return CompletableFuture.failedFuture(new IpamException(IpamError.UNAVAILABLE, "test"));
                     }

                     @Override
                     public java.util.concurrent.CompletionStage<io.isthmus.api.ipam.PoolDeletion> delete(String name) {
                         return CompletableFuture.failedFuture(new IpamException(IpamError.UNAVAILABLE, "test"));
                     }
                 }, Duration.ofMillis(200), Duration.ofSeconds(5), Clock.systemUTC());
                 Controller<String> peers = io.isthmus.k8s.crd.ClusterPeerReconciler.start(
                         gateway, new NoPeering(), Duration.ofMillis(200), Duration.ofSeconds(30), Clock.systemUTC());
                 Controller<String> policies = io.isthmus.k8s.crd.GlobalNetworkPolicyReconciler.start(gateway,
                         new RefusingBook(), Duration.ofSeconds(30), Duration.ofMillis(200), Clock.systemUTC());
                 io.isthmus.k8s.pods.WorkloadLabels labels = io.isthmus.k8s.pods.WorkloadLabels.start(gateway, Duration.ZERO)) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!pods.inSync() || !reconciler.notReadyReasons().isEmpty()
                        || !peers.notReadyReasons().isEmpty() || !policies.notReadyReasons().isEmpty()
                        || !labels.notReadyReasons().isEmpty()
                        || admin.resources(GlobalNetworkPolicy.class).withName("deny-db").get().getStatus() == null
                        || admin.resources(IPPool.class).withName("pods").get().getStatus() == null
                        || admin.resources(io.isthmus.k8s.crd.ClusterPeer.class).withName("north").get().getStatus() == null) {
                    assertTrue(System.nanoTime() < deadline, "the informers list and the status is written");
                    Thread.sleep(50);
                }
            }
            Set<String> used = new TreeSet<>();
            RecordedRequest request;
            while ((request = server.takeRequest(100, TimeUnit.MILLISECONDS)) != null) {
                if ("isthmus-gateway-under-test".equals(request.getHeader("User-Agent"))) {
                    used.add(permission(request.getMethod(), request.getPath()));
                }
            }
            assertTrue(used.containsAll(Set.of("/pods:list", "/pods:watch", "apps/statefulsets:watch",
                    "isthmus.io/ippools:watch", "isthmus.io/ippools/status:update", "isthmus.io/clusterpeers:watch",
                    "isthmus.io/clusterpeers/status:update", "/secrets:get", "isthmus.io/globalnetworkpolicies:watch",
                    "isthmus.io/globalnetworkpolicies/status:update", "/namespaces:list", "/namespaces:watch")),
                    used.toString());
            Set<String> granted = granted("isthmus-gateway");
            for (String permission : used) {
                assertTrue(granted.contains(permission), "the gateway's RBAC lacks " + permission + " (has " + granted + ")");
            }
            for (String permission : granted) {
                if (permission.startsWith("isthmus.io/") || permission.startsWith("apps/")) { // ours alone: nothing unused
                    assertTrue(used.contains(permission) || permission.endsWith(":get") || permission.endsWith(":list"),
                            "the gateway's RBAC grants " + permission + ", which the code never uses");
                }
            }
            Set<String> node = granted("isthmus-node");
            for (String permission : used) {
                if (!permission.startsWith("isthmus.io/") && !permission.equals("/secrets:get")
                        && !permission.startsWith("/namespaces:")) {
                    // the node agents do not reconcile IPPools, ClusterPeers or GlobalNetworkPolicies (nor read the
                    // CA bundles, nor watch namespaces for the policy's labels: kubernetes.policies = off there)
                    assertTrue(node.contains(permission), "the node agent's RBAC lacks " + permission);
                }
            }
            assertFalse(node.stream().anyMatch(p -> p.startsWith("isthmus.io/")), "node agents get no IPPool rights");
        } finally {
            server.destroy();
        }
    }

    // ---- helpers ----

    private static final Pattern PATH = Pattern.compile(
            "/(?:api/v1|apis/([^/]+)/[^/]+)(?:/namespaces/[^/]+)?/([^/?]+)(?:/([^/?]+)(?:/([^/?]+))?)?(?:\\?(.*))?");

    /** {@code group/resource[/subresource]:verb} of one request, as RBAC names it. */
    private static String permission(String method, String path) {
        Matcher m = PATH.matcher(path);
        if (!m.matches()) {
            fail("unexpected request path " + path);
        }
        String group = m.group(1) == null ? "" : m.group(1);
        String resource = m.group(2) + (m.group(4) == null ? "" : "/" + m.group(4));
        boolean named = m.group(3) != null;
        String query = m.group(5) == null ? "" : m.group(5);
        String verb = switch (method) {
            case "GET" -> query.contains("watch=true") ? "watch" : named ? "get" : "list";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "POST" -> "create";
            case "DELETE" -> "delete";
            default -> throw new AssertionError("unexpected method " + method);
        };
        return group + "/" + resource + ":" + verb;
    }

    /** A policy book that refuses everything for now: the GlobalNetworkPolicy reconciler's requests alone. */
    private static final class RefusingBook implements io.isthmus.k8s.crd.PolicyDocuments {
        @Override
        public Applied apply(String name, String object) {
            return new Refused("Unavailable", "test");
        }

        @Override
        public java.util.Optional<Long> delete(String name, String object) {
            return java.util.Optional.empty();
        }

        @Override
        public Standing standing(String name, String object) {
            return new Standing(java.util.Optional.empty(), false, "0:empty", Map.of());
        }

        @Override
        public String versionStamp() {
            return "0:empty";
        }
    }

    /** A PeerDirectory with no link: the ClusterPeer reconciler's requests alone. */
    private static final class NoPeering implements io.isthmus.k8s.crd.PeerDirectory {
        @Override
        public io.isthmus.api.ClusterId self() {
            return io.isthmus.api.ClusterId.of("west");
        }

        @Override
        public void peersWanted(Map<io.isthmus.api.ClusterId, List<String>> addresses) {
        }

        @Override
        public java.util.Optional<LinkReport> linkOf(io.isthmus.api.ClusterId peer, List<String> addresses) {
            return java.util.Optional.empty();
        }

        @Override
        public java.util.Optional<String> clustersetCa() {
            return java.util.Optional.empty();
        }
    }

    /**
     * Every {@code group/resource:verb} the ClusterRoles bound to this ServiceAccount grant, and the Roles (in the
     * isthmus namespace, where the tests' namespaced requests go).
     */
    private static Set<String> granted(String serviceAccount) {
        Set<String> granted = new HashSet<>();
        for (io.fabric8.kubernetes.api.model.rbac.RoleBinding binding : all(io.fabric8.kubernetes.api.model.rbac.RoleBinding.class)) {
            if (binding.getSubjects().stream().noneMatch(s -> s.getName().equals(serviceAccount))) {
                continue;
            }
            for (PolicyRule rule : one(io.fabric8.kubernetes.api.model.rbac.Role.class, binding.getRoleRef().getName()).getRules()) {
                for (String group : rule.getApiGroups()) {
                    for (String resource : rule.getResources()) {
                        for (String verb : rule.getVerbs()) {
                            granted.add(group + "/" + resource + ":" + verb);
                        }
                    }
                }
            }
        }
        for (ClusterRoleBinding binding : all(ClusterRoleBinding.class)) {
            if (binding.getSubjects().stream().noneMatch(s -> s.getName().equals(serviceAccount))) {
                continue;
            }
            for (PolicyRule rule : one(ClusterRole.class, binding.getRoleRef().getName()).getRules()) {
                for (String group : rule.getApiGroups()) {
                    for (String resource : rule.getResources()) {
                        for (String verb : rule.getVerbs()) {
                            granted.add(group + "/" + resource + ":" + verb);
                        }
                    }
                }
            }
        }
        return granted;
    }

    /** The HOCON the container's {@code --config} names, from its ConfigMap. */
    private static String configText(PodTemplateSpec template, Container main) {
        Path file = Path.of(main.getArgs().get(2));
        String mount = file.getParent().toString();
        Volume volume = template.getSpec().getVolumes().stream().filter(v -> mountPath(template, main, v.getName())
                .filter(mount::equals).isPresent()).findFirst().orElseThrow(() -> new AssertionError("no volume at " + mount));
        String text = one(ConfigMap.class, volume.getConfigMap().getName()).getData().get(file.getFileName().toString());
        assertNotNull(text, "the ConfigMap has " + file.getFileName());
        return text;
    }

    private static GatewayConfig load(PodTemplateSpec template, Container main) throws IOException {
        String text = configText(template, main);
        // The password file is a mounted Secret in the pod; here a temporary file stands in for it.
        Path password = Files.createTempFile("isthmus-postgres-password", "");
        try {
            String mounted = mountPath(template, main, "postgres").orElseThrow() + "/password";
            assertTrue(text.contains("password-file = \"" + mounted + "\""), "password-file is the mounted Secret");
            return GatewayConfigLoader.fromConfig(ConfigFactory.parseString(text.replace(mounted, password.toString())), null);
        } finally {
            Files.deleteIfExists(password);
        }
    }

    private static void assertProbe(Probe probe, String path, Container container, int adminPort) {
        assertNotNull(probe, path);
        assertEquals(path, probe.getHttpGet().getPath());
        assertEquals(adminPort, port(container, probe.getHttpGet().getPort().getStrVal()), path + " on the admin port");
    }

    private static int port(Container container, String name) {
        return container.getPorts().stream().filter(p -> name.equals(p.getName())).map(ContainerPort::getContainerPort)
                .findFirst().orElseThrow(() -> new AssertionError("no container port named " + name));
    }

    private static Optional<String> mountPath(PodTemplateSpec template, Container container, String volume) {
        return container.getVolumeMounts().stream().filter(m -> m.getName().equals(volume)).map(VolumeMount::getMountPath).findFirst();
    }

    private static Volume volume(PodTemplateSpec template, String name) {
        return template.getSpec().getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
    }

    private static boolean selects(Map<String, String> selector, PodTemplateSpec template) {
        return !selector.isEmpty() && selector.entrySet().stream()
                .allMatch(e -> e.getValue().equals(template.getMetadata().getLabels().get(e.getKey())));
    }

    private static Map<String, PodTemplateSpec> templates() {
        Map<String, PodTemplateSpec> templates = new HashMap<>();
        templates.put("isthmus-gateway", one(Deployment.class, "isthmus-gateway").getSpec().getTemplate());
        templates.put("isthmus-node", one(DaemonSet.class, "isthmus-node").getSpec().getTemplate());
        return templates;
    }

    private static List<Container> containers(PodTemplateSpec template) {
        List<Container> all = new ArrayList<>(Optional.ofNullable(template.getSpec().getInitContainers()).orElse(List.of()));
        all.addAll(template.getSpec().getContainers());
        return all;
    }

    private static <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static <T extends HasMetadata> T one(Class<T> type, String name) {
        List<T> found = all(type).stream().filter(o -> Objects.equals(name, o.getMetadata().getName())).toList();
        assertEquals(1, found.size(), "one " + type.getSimpleName() + " named " + name);
        return found.getFirst();
    }

    private static <T extends HasMetadata> T named(T object, String name) {
        object.setMetadata(new ObjectMetaBuilder().withName(name).build());
        return object;
    }

    /** Every property of {@code schema} is a field of {@code written}, recursively (arrays through their items). */
    private static void assertSchemaInFields(String where, JsonNode written, JSONSchemaProps schema) {
        if (schema.getItems() != null) {
            assertTrue(written != null && written.isArray() && !written.isEmpty(), where + " is not written as a list");
            for (JsonNode item : written) {
                assertSchemaInFields(where + "[]", item, schema.getItems().getSchema());
            }
            return;
        }
        Map<String, JSONSchemaProps> properties = schema.getProperties();
        if (properties == null || properties.isEmpty()) {
            return; // a value or a map (matchLabels)
        }
        for (Map.Entry<String, JSONSchemaProps> property : properties.entrySet()) {
            JsonNode field = written == null ? null : written.get(property.getKey());
            assertTrue(field != null && !field.isNull(), where + "." + property.getKey()
                    + " is in the CRD's schema but the Java model does not hold it");
            assertSchemaInFields(where + "." + property.getKey(), field, property.getValue());
        }
    }

    /** Every field of {@code written} is a property of {@code schema}, recursively (arrays through their items). */
    private static void assertFieldsInSchema(String where, JsonNode written, JSONSchemaProps schema) {
        assertNotNull(schema, where + " has no schema");
        if (written == null || written.isNull()) {
            return;
        }
        if (written.isArray()) {
            for (JsonNode item : written) {
                assertFieldsInSchema(where + "[]", item, schema.getItems().getSchema());
            }
            return;
        }
        if (written.isObject()) {
            Map<String, JSONSchemaProps> properties = schema.getProperties();
            if ((properties == null || properties.isEmpty()) && schema.getAdditionalProperties() != null) {
                return; // a map (matchLabels)
            }
            Iterator<Map.Entry<String, JsonNode>> fields = written.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                assertTrue(properties != null && properties.containsKey(field.getKey()),
                        where + "." + field.getKey() + " is written by the Java model but not in the CRD's schema");
                assertFieldsInSchema(where + "." + field.getKey(), field.getValue(), properties.get(field.getKey()));
            }
        }
    }
}
