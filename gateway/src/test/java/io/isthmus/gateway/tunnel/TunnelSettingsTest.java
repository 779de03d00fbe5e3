package io.isthmus.gateway.tunnel;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.tunnel.ConnectionTracker;
import io.isthmus.tunnel.Suite;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TunnelSettingsTest {
    private static GatewayConfig load(String tunnel) {
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString(
                "isthmus { cluster-id = east, tunnel { " + tunnel + " } }"), null);
    }

    private static void refused(String tunnel, String field, String words) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> load(tunnel));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(words), e.getMessage());
    }

    @Test
    void theTunnelIsOffByDefaultAndItsDefaultsAreTheDocumentedOnes() {
        TunnelSettings settings = load("").tunnel();
        assertFalse(settings.enabled());
        assertEquals("isthmus0", settings.device());
        assertEquals(1420, settings.mtu());
        assertEquals(Suite.AES_256_GCM, settings.suite());
        assertEquals(Duration.ofSeconds(120), settings.rekeyAfterTime());
        assertEquals(1L << 40, settings.rekeyAfterBytes());
        assertEquals(io.isthmus.tunnel.TunnelDevice.Offloads.AUTO, settings.offloads());
    }

    @Test
    void xdpIsOffByDefaultAndBadValuesNameTheField() {
        TunnelSettings.Xdp defaults = load("").tunnel().xdp();
        assertEquals(new TunnelSettings.Xdp(TunnelSettings.XdpMode.OFF, "", true), defaults);
        assertEquals(new TunnelSettings.Xdp(TunnelSettings.XdpMode.NATIVE, "eth0.100", false), load(
                "xdp = native, xdp-interface = \"eth0.100\", xdp-unannounced-sources = drop").tunnel().xdp());
        assertEquals(TunnelSettings.XdpMode.AUTO, load("xdp = AUTO").tunnel().xdp().mode());
        assertEquals(TunnelSettings.XdpMode.OFF, load("xdp = false").tunnel().xdp().mode());
        refused("xdp = fast", "isthmus.tunnel.xdp", "must be off, auto, generic or native");
        refused("xdp-interface = \"a/b\"", "isthmus.tunnel.xdp-interface", "network interface name");
        refused("xdp-unannounced-sources = allow", "isthmus.tunnel.xdp-unannounced-sources",
                "must be pass-on-live-session or drop");
    }

    @Test
    void theWireVersionIsTheNewestUnlessPinnedLowerForAnUpgrade() {
        assertEquals(1, load("").tunnel().wireVersion());
        assertEquals(0, load("wire-version = 0").tunnel().wireVersion());
        refused("wire-version = 2", "isthmus.tunnel.wire-version", "this build speaks 0..1");
        refused("wire-version = -1", "isthmus.tunnel.wire-version", "this build speaks 0..1");
    }

    @Test
    void anEnabledTunnelTellsPeersASpecificAddress() {
        TunnelSettings settings = load("enabled = on, listen = \"0.0.0.0:51820\", advertise = \"10.1.0.5:51820\","
                + " suite = chacha20-poly1305, rekey-after-time = 60s, rekey-after-bytes = 64 GiB").tunnel();
        assertEquals("10.1.0.5:51820", settings.advertised().toString());
        assertEquals(Suite.CHACHA20_POLY1305, settings.suite());
        assertEquals(Duration.ofSeconds(60), settings.rekeyPolicy().after());
        assertEquals(64L << 30, settings.rekeyPolicy().afterBytes());
    }

    @Test
    void connectionTrackingHasTheDocumentedDefaultsAndReachesTheDataPlane() {
        TunnelSettings defaults = load("").tunnel();
        assertEquals(ConnectionTracker.Settings.defaults(), defaults.connectionTracking());
        assertEquals(65_536, defaults.connectionTracking().capacity());
        assertEquals(Duration.ofSeconds(30), defaults.connectionTracking().udpTimeout());
        TunnelSettings set = load("enabled = on, listen = \"10.0.0.1:51820\", connection-tracking { capacity = 1024,"
                + " tcp-timeout = 2h, tcp-closing-timeout = 5s, udp-timeout = 1m }").tunnel();
        assertEquals(new ConnectionTracker.Settings(1024, Duration.ofHours(2), Duration.ofSeconds(5),
                Duration.ofMinutes(1)), set.dataPlane(Duration.ofSeconds(30)).connectionTracking());
    }

    @Test
    void badConnectionTrackingSettingsAreRefusedNamingTheKeyAndTheValue() {
        refused("connection-tracking.capacity = 2", "isthmus.tunnel.connection-tracking.capacity", "'2': must be 8..");
        refused("connection-tracking.capacity = lots", "isthmus.tunnel.connection-tracking.capacity", "whole number");
        refused("connection-tracking.udp-timeout = 0s", "isthmus.tunnel.connection-tracking.udp-timeout",
                "'PT0S': must be between PT1S and PT1H");
        refused("connection-tracking.tcp-timeout = soon", "isthmus.tunnel.connection-tracking.tcp-timeout",
                "'soon': must be a duration");
        refused("connection-tracking { tcp-timeout = 20s, tcp-closing-timeout = 30s }",
                "isthmus.tunnel.connection-tracking.tcp-closing-timeout", "not be longer than tcp-timeout");
    }

    @Test
    void badSettingsAreRefusedNamingTheFieldAndTheValue() {
        refused("enabled = on", "isthmus.tunnel.advertise", "must be set when tunnel.listen is a wildcard");
        refused("suite = rot13", "isthmus.tunnel.suite", "aes-256-gcm or chacha20-poly1305");
        refused("mtu = 100", "isthmus.tunnel.mtu", "576..9000");
        refused("queues = 0", "isthmus.tunnel.queues", "1..64");
        refused("device = \"a-name-far-too-long\"", "isthmus.tunnel.device", "1..15");
        refused("offloads = maybe", "isthmus.tunnel.offloads", "auto, on or off");
        refused("rekey-after-time = 1s", "isthmus.tunnel.rekey-after-time", "between 10s and 1d");
        refused("listen = \"nowhere\"", "isthmus.tunnel.listen", "HOST:PORT");
        refused("enabled = on, listen = \"10.0.0.1:51820\", advertise = \"gw.example:51820\"",
                "isthmus.tunnel.advertise", "must be an IP address");
        refused("namespace = \"a/b\"", "isthmus.tunnel.namespace", "no '/'");
        refused("address = \"10.0.0.1\"", "isthmus.tunnel.address", "ADDRESS/PREFIX");
    }
}
