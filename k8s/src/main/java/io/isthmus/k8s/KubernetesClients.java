package io.isthmus.k8s;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

import java.time.Duration;

/** Makes the one fabric8 client a gateway replica talks to its cluster's API server with. */
public final class KubernetesClients {
    /** A request to an API server that does not answer fails after this, so a writer never hangs on it. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    /** First wait before a dropped watch is opened again (fabric8 doubles it up to its own limit). */
    private static final Duration WATCH_RECONNECT = Duration.ofMillis(500);

    private KubernetesClients() {
    }

    /**
     * @param masterUrl the API server, e.g. {@code https://10.96.0.1:443}; empty: fabric8's auto-configuration
     *                  (the pod's service account inside a cluster, else {@code ~/.kube/config})
     */
    public static KubernetesClient connect(String masterUrl) {
        Config config = Config.autoConfigure(null);
        if (!masterUrl.isEmpty()) {
            config.setMasterUrl(masterUrl);
        }
        config.setRequestTimeout((int) REQUEST_TIMEOUT.toMillis());
        config.setConnectionTimeout((int) REQUEST_TIMEOUT.toMillis());
        config.setWatchReconnectInterval((int) WATCH_RECONNECT.toMillis());
        config.setWatchReconnectLimit(-1); // a watch is reopened for as long as the gateway runs
        return new KubernetesClientBuilder().withConfig(config).build();
    }
}
