package io.isthmus.api;

import java.net.InetAddress;

/**
 * One address a service offers: the ClusterSetIP of a ClusterSetIP service, or a ready endpoint of a headless one.
 * {@code hostname} (empty when unknown) names a headless endpoint in DNS:
 * {@code <hostname>.<clusterid>.<svc>.<ns>.svc.clusterset.local}.
 */
public record Endpoint(InetAddress ip, String hostname) {
    public Endpoint {
        if (ip == null) {
            throw new InvalidFieldException("ip", "", "is required");
        }
        hostname = hostname == null ? "" : hostname;
        if (!hostname.isEmpty()) {
            DnsLabel.require("hostname", hostname);
        }
    }

    public static Endpoint of(InetAddress ip) {
        return new Endpoint(ip, "");
    }

    /** Parses {@code ADDR} or {@code HOSTNAME=ADDR} (e.g. {@code web-0=10.244.1.5}); errors name {@code field}. */
    public static Endpoint parse(String field, String text) {
        String value = text == null ? "" : text.trim();
        int eq = value.indexOf('=');
        if (eq < 0) {
            return of(IpLiteral.parse(field, value));
        }
        InetAddress ip = IpLiteral.parse(field, value.substring(eq + 1));
        try {
            return new Endpoint(ip, value.substring(0, eq));
        } catch (InvalidFieldException e) {
            throw new InvalidFieldException(field, text, "the hostname " + e.reason());
        }
    }

    @Override
    public String toString() {
        return (hostname.isEmpty() ? "" : hostname + "=") + ip.getHostAddress();
    }
}
