package io.isthmus.api;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One port of a service. {@code name} is empty for an unnamed port (valid in Kubernetes when a service has
 * only one port); named ports are what DNS SRV records are made from.
 */
public record ServicePort(String name, int port, Protocol protocol) {
    private static final Pattern PORT_NAME = Pattern.compile("(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern FORM = Pattern.compile("(?:([^:/]+):)?(\\d{1,5})(?:/([A-Za-z]+))?");

    public ServicePort {
        if (name == null) {
            name = "";
        }
        if (!name.isEmpty() && (name.length() > 15 || !PORT_NAME.matcher(name).matches() || name.contains("--"))) {
            // Kubernetes' IANA_SVC_NAME: what can stand in an SRV name (_http._tcp...).
            throw new InvalidFieldException("port name", name,
                    "must be at most 15 characters of a-z, 0-9 and '-', with at least one letter, not starting or ending with '-' nor holding '--'");
        }
        if (port < 1 || port > 65535) {
            throw new InvalidFieldException("port", port, "must be between 1 and 65535");
        }
        if (protocol == null) {
            throw new InvalidFieldException("port protocol", "", "must be TCP, UDP or SCTP");
        }
    }

    /** Parses {@code 80}, {@code 80/TCP}, {@code 53/UDP} or {@code http:80/TCP}; TCP when no protocol is given. */
    public static ServicePort parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new InvalidFieldException("port", text, "expected [NAME:]PORT[/PROTOCOL], e.g. 80/TCP or http:80/TCP");
        }
        int number;
        try {
            number = Integer.parseInt(m.group(2));
        } catch (NumberFormatException e) {
            throw new InvalidFieldException("port", text, "port number is not a number");
        }
        if (number < 1 || number > 65535) {
            throw new InvalidFieldException("port", text, "port number must be between 1 and 65535");
        }
        Protocol protocol = m.group(3) == null ? Protocol.TCP : Protocol.parse("port", m.group(3));
        return new ServicePort(m.group(1), number, protocol);
    }

    @Override
    public String toString() {
        return (name.isEmpty() ? "" : name + ":") + port + "/" + protocol;
    }
}
