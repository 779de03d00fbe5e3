package io.isthmus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.dns.DnsServer;
import io.isthmus.dns.ServingPath;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.k8s.mcs.McsSync;

import java.time.Instant;

/** The sections of {@code /api/v1/status} that parts without a JSON view of their own contribute. */
final class StatusSections {
    static final ObjectMapper JSON = new ObjectMapper();

    private StatusSections() {
    }

    static JsonNode kubernetes(McsSync.Status sync) {
        return JSON.createObjectNode().put("apiServer", sync.apiServer()).put("synced", sync.synced())
                .put("watching", sync.watching()).put("serviceExports", sync.serviceExports())
                .put("offered", sync.offered()).put("serviceImports", sync.serviceImports())
                .put("importedSlices", sync.importedSlices()).put("lastFullResyncAt", text(sync.lastFullResyncAt()))
                .put("lastError", sync.lastError()).put("lastErrorAt", text(sync.lastErrorAt()));
    }

    static JsonNode dns(GatewayConfig.Dns settings, DnsServer dns) {
        ObjectNode node = JSON.createObjectNode().put("zone", settings.zone()).put("udpPath", dns.udpPath())
                .put("locality", settings.locality().label())
                .put("forwarding", settings.forwarding().enabled() ? settings.forwarding().upstreams().toString() : "off");
        node.set("udpSyscalls", path(dns.udpSyscalls()));
        node.set("answerPath", path(dns.answerPath()));
        return node;
    }

    /**
     * The certificates the gateway's trust rests on: its own (peering, replicas, join) and the clusterset CA's, with
     * when each expires; {@code isthmus diagnose} warns ahead of it.
     */
    static JsonNode certificates(java.security.cert.X509Certificate own, java.security.cert.X509Certificate ca) {
        ObjectNode node = JSON.createObjectNode();
        node.putObject("cluster").put("subject", own.getSubjectX500Principal().getName())
                .put("serial", own.getSerialNumber().toString(16))
                .put("notBefore", own.getNotBefore().toInstant().toString())
                .put("notAfter", own.getNotAfter().toInstant().toString());
        node.putObject("ca").put("subject", ca.getSubjectX500Principal().getName())
                .put("notAfter", ca.getNotAfter().toInstant().toString());
        return node;
    }

    /** A serving path as operators read it: whether it is the fast one, which it is, and why not the fast one. */
    private static JsonNode path(ServingPath path) {
        return JSON.createObjectNode().put("fast", path.fast()).put("mode", path.mode()).put("reason", path.reason());
    }

    private static String text(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
