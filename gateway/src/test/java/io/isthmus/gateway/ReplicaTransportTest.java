package io.isthmus.gateway;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The replicas' transport is TLS, and an ActorSystem made without the replica TLS setup does not start at all. */
class ReplicaTransportTest {
    @Test
    void theReplicasTransportIsTls(@TempDir Path dir) {
        Config pekko = PekkoSettings.forGateway(config(dir));
        assertEquals("tls-tcp", pekko.getString("pekko.remote.artery.transport"));
    }

    @Test
    void aSystemWithoutTheReplicaTlsSetupFailsAtStartSayingWhy(@TempDir Path dir) {
        Config pekko = ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = off")
                .withFallback(PekkoSettings.forGateway(config(dir)));
        Throwable failure = assertThrows(Throwable.class,
                () -> ActorSystem.create(Behaviors.empty(), PekkoSettings.SYSTEM_NAME, pekko).terminate());
        StringBuilder causes = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            causes.append(t).append('\n');
        }
        assertTrue(causes.toString().contains("replica TLS is not set up"), causes.toString());
    }

    private static GatewayConfig config(Path dir) {
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString(
                "isthmus { cluster-id = east, replicas.port = 0 }"), dir);
    }
}
