package io.isthmus.gateway.replicas;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code replicas.discovery = kubernetes-api}: starts pekko-management (the contact point other replicas probe) and
 * cluster bootstrap, which finds the replicas' pods through the Kubernetes API (settings derived in PekkoSettings) and
 * joins or forms the cluster. Replaces the seed-node join; a replica on its own waits for required-contact-points.
 */
public final class KubernetesBootstrap {
    private static final Logger log = LoggerFactory.getLogger(KubernetesBootstrap.class);

    private KubernetesBootstrap() {
    }

    /** Starts both; the returned handle stops the management HTTP server. */
    public static AutoCloseable start(ActorSystem<?> system) {
        PekkoManagement management = PekkoManagement.get(system.classicSystem());
        management.start().whenComplete((uri, failure) -> {
            if (failure != null) {
                log.error("pekko-management did not start, so cluster bootstrap cannot find the other replicas: {}",
                        failure.toString());
            } else {
                log.info("pekko-management on {}; cluster bootstrap looks for replicas through the Kubernetes API", uri);
            }
        });
        ClusterBootstrap.get(system.classicSystem()).start();
        return management::stop;
    }
}
