package io.isthmus.gateway;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.pki.ReplicaTls;
import io.isthmus.ipam.serialization.IpamSchema;
import org.apache.pekko.actor.BootstrapSetup;
import org.apache.pekko.actor.setup.ActorSystemSetup;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Derives the Pekko settings of one gateway replica from its {@link GatewayConfig}. */
final class PekkoSettings {
    static final String SYSTEM_NAME = "isthmus";
    /** The config block of the split-brain resolver's PostgreSQL lease (isthmus-pekko.conf). */
    static final String SBR_LEASE = "isthmus-sbr-lease";

    private PekkoSettings() {
    }

    /**
     * The settings and the replica TLS (Artery {@code tls-tcp}, see {@link ReplicaTls}) of one replica's ActorSystem.
     * There is no plain-TCP variant: a system made from {@link #forGateway(GatewayConfig)} alone fails at start.
     */
    static ActorSystemSetup setup(GatewayConfig config, ReplicaTls tls) {
        return ActorSystemSetup.create(BootstrapSetup.create(forGateway(config))).withSetup(tls.setup());
    }

    static Config forGateway(GatewayConfig config) {
        Map<String, Object> values = new HashMap<>();
        values.put("pekko.remote.artery.canonical.hostname", config.replicas().listen().host());
        values.put("pekko.remote.artery.canonical.port", config.replicas().listen().port());
        // No seed-nodes here: Gateway joins them once the replica has started (see Gateway.joinReplicas).
        switch (config.journal()) {
            case GatewayConfig.H2Journal h2 -> values.put("slick-h2.db.url", h2Url(config.dataDir()));
            case GatewayConfig.PostgresJournal postgres -> {
                String database = "pekko-persistence-jdbc.shared-databases.journal.";
                values.put(database + "profile", "slick.jdbc.PostgresProfile$");
                values.put(database + "db.driver", "org.postgresql.Driver");
                values.put(database + "db.url", postgres.url());
                values.put(database + "db.user", postgres.user());
                values.put(database + "db.password", postgres.password());
                // Writes, snapshots and the export reader's two pollers share the pool: two are too few.
                values.put(database + "db.numThreads", 4);
                values.put(database + "db.maxConnections", 4);
                // A database across the network, or a busy one, can take longer than the embedded file's 5 s.
                values.put(database + "db.connectionTimeout", "20s");
                if (!config.replicas().seedNodes().isEmpty() || config.replicas().kubernetesApi().isPresent()) {
                    // Replicas share this database: let the side of a split holding a lease in it stay up.
                    String sbr = "pekko.cluster.split-brain-resolver.";
                    values.put(sbr + "active-strategy", "lease-majority");
                    values.put(sbr + "lease-majority.lease-implementation", SBR_LEASE);
                    // Per cluster: several clusters may share one database.
                    values.put(sbr + "lease-majority.lease-name", "isthmus-" + config.clusterId() + "-pekko-sbr");
                    values.put(SBR_LEASE + ".url", postgres.url());
                    values.put(SBR_LEASE + ".user", postgres.user());
                    values.put(SBR_LEASE + ".password", postgres.password());
                }
            }
        }
        config.replicas().kubernetesApi().ifPresent(discovery -> {
            // Cluster bootstrap (replicas.KubernetesBootstrap): contact points are the pods the selector matches.
            values.put("pekko.management.http.hostname", config.replicas().listen().host());
            values.put("pekko.management.http.port", discovery.managementPort());
            String bootstrap = "pekko.management.cluster.bootstrap.contact-point-discovery.";
            values.put(bootstrap + "discovery-method", "kubernetes-api");
            values.put(bootstrap + "service-name", "isthmus-" + config.clusterId());
            values.put(bootstrap + "required-contact-point-nr", discovery.requiredContactPoints());
            values.put(bootstrap + "port-name", "management");
            values.put("pekko.discovery.kubernetes-api.pod-label-selector", discovery.podLabelSelector());
        });
        Config own = ConfigFactory.parseMap(values).withFallback(ConfigFactory.parseResourcesAnySyntax("isthmus-pekko.conf"));
        if (config.journalSchemaVersions()) {
            own = own.withFallback(ConfigFactory.parseResources(IpamSchema.RESOURCE));
        } else {
            // No migrations, and Pekko writes no version into the manifests: the journal as releases before versions.
            own = own.withoutPath("pekko.serialization.jackson.migrations");
        }
        return own.withFallback(ConfigFactory.defaultReference()).resolve();
    }

    static String h2Url(Path dataDir) {
        // WRITE_DELAY=0: H2 otherwise keeps commits in the process for up to a second, and a SIGKILL in that
        // second would lose an export the CLI was told is stored. One replica owns its file (no AUTO_SERVER).
        return "jdbc:h2:file:" + dataDir.resolve("journal").toAbsolutePath() + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
    }
}
