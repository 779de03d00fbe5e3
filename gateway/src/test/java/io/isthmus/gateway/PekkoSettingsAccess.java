package io.isthmus.gateway;

import com.typesafe.config.Config;
import io.isthmus.gateway.config.GatewayConfig;

/** Lets tests of other packages see the Pekko settings a gateway config turns into. */
public final class PekkoSettingsAccess {
    private PekkoSettingsAccess() {
    }

    public static Config forGateway(GatewayConfig config) {
        return PekkoSettings.forGateway(config);
    }
}
