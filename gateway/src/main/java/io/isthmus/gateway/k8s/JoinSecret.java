package io.isthmus.gateway.k8s;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Secret a joined cluster's gateways mount as their tls dir (the deploy manifests' {@code isthmus-tls}): written
 * once by the join Job from the files {@code isthmus join} made, so the key is made inside the cluster and stored
 * only in it.
 */
public record JoinSecret(String namespace, String name) {
    private static final java.util.regex.Pattern LABEL = java.util.regex.Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final java.util.regex.Pattern SUBDOMAIN = java.util.regex.Pattern.compile(
            "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");

    public JoinSecret {
        if (namespace == null || namespace.isBlank() || name == null || name.isBlank()) {
            throw new IllegalArgumentException("namespace and name are required");
        }
    }

    /** {@code NAMESPACE/NAME}; {@code field} names the option in the error. */
    public static JoinSecret parse(String field, String text) {
        String[] parts = text == null ? new String[0] : text.split("/", -1);
        if (parts.length != 2 || !LABEL.matcher(parts[0]).matches()
                || parts[1].length() > 253 || !SUBDOMAIN.matcher(parts[1]).matches()) {
            throw new InvalidFieldException(field, text, "expected NAMESPACE/NAME of a Secret, e.g. isthmus-system/isthmus-tls");
        }
        return new JoinSecret(parts[0], parts[1]);
    }

    /** True when the Secret exists and holds {@code cluster}'s certificate already. */
    public boolean holdsCertificate(KubernetesClient client, ClusterId cluster) {
        Secret existing = client.secrets().inNamespace(namespace).withName(name).get();
        return existing != null && existing.getData() != null && existing.getData().containsKey(cluster.value() + ".crt");
    }

    /** Creates or replaces the Secret with {@code files} (each under its file name), all or nothing. */
    public void write(KubernetesClient client, List<Path> files) {
        Map<String, String> data = new LinkedHashMap<>();
        for (Path file : files) {
            try {
                data.put(file.getFileName().toString(), Base64.getEncoder().encodeToString(Files.readAllBytes(file)));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + file + " for Secret " + this + ": " + e.getMessage(), e);
            }
        }
        Secret secret = new SecretBuilder()
                .withNewMetadata().withNamespace(namespace).withName(name)
                .addToLabels("app.kubernetes.io/name", "isthmus").addToLabels("app.kubernetes.io/component", "tls")
                .endMetadata()
                .withType("Opaque")
                .withData(data)
                .build();
        try {
            client.secrets().inNamespace(namespace).resource(secret).createOr(NonDeletingOperation::update);
        } catch (KubernetesClientException e) {
            throw new IllegalStateException("cannot write Secret " + this + ": " + e.getMessage()
                    + " (may the join Job's service account create and update Secrets in " + namespace + "?)", e);
        }
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }
}
