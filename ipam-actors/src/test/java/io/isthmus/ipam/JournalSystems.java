package io.isthmus.ipam;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One-node Pekko clusters on a real JDBC journal, set up as the gateway does it (pekko-persistence-jdbc, embedded H2
 * with WRITE_DELAY=0, or PostgreSQL): for the journal tests and the allocation bench.
 */
public final class JournalSystems {
    private JournalSystems() {
    }

    /** Where the journal lives. */
    public sealed interface Journal {
        Config config();
    }

    /** An embedded H2 file under {@code dir}; WRITE_DELAY=0 so an acknowledged write survives a kill. */
    public record H2(Path dir) implements Journal {
        @Override
        public Config config() {
            return ConfigFactory.parseMap(Map.of("slick-h2.db.url", "jdbc:h2:file:" + dir.resolve("journal").toAbsolutePath()
                    + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE"));
        }

        @Override
        public String toString() {
            return "H2";
        }
    }

    public record Postgres(String url) implements Journal {
        @Override
        public Config config() {
            String db = "pekko-persistence-jdbc.shared-databases.journal.";
            return ConfigFactory.parseMap(Map.of(db + "profile", "slick.jdbc.PostgresProfile$",
                    db + "db.driver", "org.postgresql.Driver", db + "db.url", url, db + "db.user", "postgres",
                    db + "db.password", ""));
        }

        @Override
        public String toString() {
            return "PostgreSQL";
        }
    }

    private static final String BASE = """
            pekko {
              loglevel = WARNING
              loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
              logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
              log-dead-letters = off
              log-dead-letters-during-shutdown = off
              actor.provider = cluster
              remote.artery { transport = tcp, canonical { hostname = 127.0.0.1, port = 0 } }
              cluster.jmx.enabled = off
              coordinated-shutdown { exit-jvm = off, run-by-jvm-shutdown-hook = off }
              persistence {
                journal.plugin = "jdbc-journal"
                snapshot-store.plugin = "jdbc-snapshot-store"
              }
            }
            slick-h2 {
              profile = "slick.jdbc.H2Profile$"
              db {
                driver = "org.h2.Driver"
                user = "sa"
                password = ""
                numThreads = 2
                maxConnections = 2
                minConnections = 1
                connectionTimeout = 30s
              }
            }
            pekko-persistence-jdbc.shared-databases.journal = ${slick-h2}
            jdbc-journal.use-shared-db = "journal"
            jdbc-snapshot-store.use-shared-db = "journal"
            jdbc-read-journal.use-shared-db = "journal"
            """;

    /** Starts a one-node cluster on {@code journal}, with the journal tables created. */
    public static ActorSystem<Void> start(String name, Journal journal) throws Exception {
        Config config = journal.config().withFallback(ConfigFactory.parseString(BASE))
                .withFallback(ConfigFactory.parseResources(io.isthmus.ipam.serialization.IpamSchema.RESOURCE))
                .withFallback(ConfigFactory.defaultReference()).resolve();
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), name, config);
        try {
            SchemaUtils.createIfNotExists(system).toCompletableFuture().get(30, TimeUnit.SECONDS);
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (cluster.selfMember().status() != MemberStatus.up()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the node did not come up in 30 s: " + cluster.selfMember());
                }
                Thread.sleep(20);
            }
            return system;
        } catch (Exception e) {
            system.terminate();
            throw e;
        }
    }

    /**
     * Waits until the facade's pool directory answers: on a fresh node the shard coordinator takes a few seconds to
     * start, and until then asks time out (UNAVAILABLE), which callers retry.
     */
    public static Ipam ready(Ipam ipam) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                ipam.pools().toCompletableFuture().get(10, TimeUnit.SECONDS);
                return ipam;
            } catch (java.util.concurrent.ExecutionException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
        }
    }

    public static void stop(ActorSystem<?> system) throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
