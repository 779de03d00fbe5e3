package io.isthmus.gateway.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ServiceDirectory;
import io.isthmus.dns.DnsConfig;
import io.isthmus.dns.DnsServer;
import io.isthmus.dns.RateLimit;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

class DnsMetricsTest {
    @Test
    void rateLimitedResponsesShowOnMetricsByAction() throws Exception {
        RateLimit oneThenSlipEverySecond = RateLimit.DEFAULTS.withResponsesPerSecond(1).withBurst(1).withSlip(2)
                .withExemptClients(List.of());
        InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (DnsServer server = DnsServer.start(DnsConfig.of(any).withRateLimit(oneThenSlipEverySecond),
                () -> ServiceDirectory.EMPTY);
             DatagramSocket client = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            client.setSoTimeout(300);
            byte[] query = Message.newQuery(Record.newRecord(Name.fromString("x.clusterset.local."), Type.A, DClass.IN))
                    .toWire();
            int replies = 0;
            for (int i = 0; i < 5; i++) {
                client.send(new DatagramPacket(query, query.length, server.localAddress()));
                try {
                    client.receive(new DatagramPacket(new byte[512], 512));
                    replies++;
                } catch (SocketTimeoutException e) {
                    // withheld
                }
            }
            Metrics metrics = new Metrics();
            DnsMetrics.register(metrics, server);
            String text = metrics.render();

            assertTrue(replies == 3, "1 answer and 2 slips of 5, got " + replies);
            assertTrue(text.contains("isthmus_dns_rate_limited_total{action=\"dropped\"} 2"), text);
            assertTrue(text.contains("isthmus_dns_rate_limited_total{action=\"slipped\"} 2"), text);
        }
    }
}
