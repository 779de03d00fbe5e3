package io.isthmus.k8s.crd;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A ClusterPeer's {@code spec.caBundle} checked against the clusterset CA that peering trusts: the Secret or
 * ConfigMap it names is read from the API server, and its first certificate compared with ours.
 */
final class CaBundleCheck {
    /** The Secret key a ClusterPeer's caSecretRef names when it names none. */
    static final String DEFAULT_CA_KEY = "ca.crt";

    private final KubernetesClient client;
    private final Supplier<Optional<String>> clustersetCa;

    CaBundleCheck(KubernetesClient client, Supplier<Optional<String>> clustersetCa) {
        this.client = client;
        this.clustersetCa = clustersetCa;
    }

    /** {reason, message} when the CA bundle is missing, unreadable or not the clusterset CA. */
    Optional<String[]> problem(ClusterPeerSpec.CaBundleRef bundle) {
        if (bundle == null || (bundle.secretRef() == null) == (bundle.configMapRef() == null)) {
            return Optional.of(new String[]{"InvalidCaBundle",
                    "spec.caBundle: set exactly one of caBundle.secretRef and caBundle.configMapRef"});
        }
        boolean secret = bundle.secretRef() != null;
        ClusterPeerSpec.KeyRef ref = secret ? bundle.secretRef() : bundle.configMapRef();
        String field = secret ? "spec.caBundle.secretRef" : "spec.caBundle.configMapRef";
        String key = Objects.requireNonNullElse(ref.key(), DEFAULT_CA_KEY);
        String where = (secret ? "Secret " : "ConfigMap ") + ref.namespace() + "/" + ref.name();
        String pem;
        try {
            if (secret) {
                Secret found = client.secrets().inNamespace(ref.namespace()).withName(ref.name()).get();
                String data = found == null || found.getData() == null ? null : found.getData().get(key);
                pem = data == null ? null : new String(Base64.getMimeDecoder().decode(data), StandardCharsets.UTF_8);
                if (found == null) {
                    return Optional.of(new String[]{"CaBundleNotFound", field + ": " + where + " does not exist"});
                }
            } else {
                ConfigMap found = client.configMaps().inNamespace(ref.namespace()).withName(ref.name()).get();
                pem = found == null || found.getData() == null ? null : found.getData().get(key);
                if (found == null) {
                    return Optional.of(new String[]{"CaBundleNotFound", field + ": " + where + " does not exist"});
                }
            }
        } catch (KubernetesClientException e) {
            return Optional.of(new String[]{"CaBundleNotFound", field + ": " + where + " cannot be read: "
                    + e.getMessage()});
        }
        if (pem == null) {
            return Optional.of(new String[]{"CaBundleNotFound", field + ".key: " + where + " has no key '" + key + "'"});
        }
        byte[] theirs;
        try {
            theirs = firstCertificate(pem);
        } catch (CertificateException e) {
            return Optional.of(new String[]{"CaBundleInvalid", field + ".key: '" + key + "' of " + where
                    + " is not a PEM certificate: " + e.getMessage()});
        }
        Optional<String> ours = clustersetCa.get();
        if (ours.isEmpty()) {
            return Optional.of(new String[]{"CaMismatch", "this gateway has no clusterset CA certificate (ca.crt in "
                    + "its tls dir) to compare '" + key + "' of " + where + " with"});
        }
        try {
            if (!java.util.Arrays.equals(theirs, firstCertificate(ours.get()))) {
                return Optional.of(new String[]{"CaMismatch", "'" + key + "' of " + where + " (" + field
                        + ") is not the clusterset CA this gateway trusts: peering trusts the clusterset CA only, "
                        + "so links to a peer whose certificate is from this CA will fail the TLS check"});
            }
        } catch (CertificateException e) {
            return Optional.of(new String[]{"CaMismatch", "this gateway's clusterset CA cannot be read: " + e.getMessage()});
        }
        return Optional.empty();
    }

    private static byte[] firstCertificate(String pem) throws CertificateException {
        var certificates = CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
        if (certificates.isEmpty()) {
            throw new CertificateException("no certificate in it");
        }
        return certificates.iterator().next().getEncoded();
    }
}
