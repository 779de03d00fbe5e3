package io.isthmus.ipam.plan;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Where registrations (CIDRs in use before the plan) may lie and how large they may be: a member's registration
 * admits its endpoints into every other cluster's routes, so a registration of {@code 0.0.0.0/1} must not count.
 * Checked on local registrations and on every registration in a peer's view (a view with one out of bounds is
 * refused whole), so the same bounds belong on every cluster.
 *
 * <pre>{@code
 * plan.registrations {
 *   within = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]
 *   ipv4-min-prefix = 12      # the largest IPv4 registration: a /12
 *   ipv6-min-prefix = 48
 * }
 * }</pre>
 */
public record RegistrationBounds(List<Cidr> within, int ipv4MinPrefix, int ipv6MinPrefix) {
    /** The private and shared address ranges (RFC 1918, RFC 6598, RFC 4193); a /12 or a /48 at most. */
    public static final RegistrationBounds DEFAULT = new RegistrationBounds(List.of(
            Cidr.parse("within", "10.0.0.0/8"), Cidr.parse("within", "172.16.0.0/12"),
            Cidr.parse("within", "192.168.0.0/16"), Cidr.parse("within", "100.64.0.0/10"),
            Cidr.parse("within", "fc00::/7")), 12, 48);

    public RegistrationBounds {
        within = List.copyOf(within);
        if (ipv4MinPrefix < 0 || ipv4MinPrefix > 32) {
            throw new InvalidFieldException("plan.registrations.ipv4-min-prefix", ipv4MinPrefix, "must be between 0 and 32");
        }
        if (ipv6MinPrefix < 0 || ipv6MinPrefix > 128) {
            throw new InvalidFieldException("plan.registrations.ipv6-min-prefix", ipv6MinPrefix, "must be between 0 and 128");
        }
    }

    static RegistrationBounds fromConfig(Config plan) {
        if (!plan.hasPath("registrations")) {
            return DEFAULT;
        }
        Config section = plan.getConfig("registrations");
        List<Cidr> within = DEFAULT.within();
        if (section.hasPath("within")) {
            within = new ArrayList<>();
            List<String> texts;
            try {
                texts = section.getStringList("within");
            } catch (ConfigException e) {
                throw new InvalidFieldException("plan.registrations.within", section.getValue("within").unwrapped(),
                        "must be a list of CIDRs such as [\"10.0.0.0/8\"]");
            }
            for (int i = 0; i < texts.size(); i++) {
                within.add(Cidr.parse("plan.registrations.within[" + i + "]", texts.get(i)));
            }
        }
        return new RegistrationBounds(within, prefix(section, "ipv4-min-prefix", DEFAULT.ipv4MinPrefix()),
                prefix(section, "ipv6-min-prefix", DEFAULT.ipv6MinPrefix()));
    }

    private static int prefix(Config section, String path, int fallback) {
        if (!section.hasPath(path)) {
            return fallback;
        }
        try {
            return section.getInt(path);
        } catch (ConfigException e) {
            throw new InvalidFieldException("plan.registrations." + path, section.getValue(path).unwrapped(),
                    "must be a prefix length such as 12");
        }
    }

    /** Why {@code range} may not be registered, if it may not. */
    public Optional<String> problem(Cidr range) {
        if (within.stream().noneMatch(w -> w.contains(range))) {
            return Optional.of(range + " lies outside the ranges registrations may lie in (plan.registrations.within: "
                    + within.stream().map(Cidr::toString).collect(Collectors.joining(", ")) + ")");
        }
        boolean v4 = range.addressBits() == 32;
        int min = v4 ? ipv4MinPrefix : ipv6MinPrefix;
        if (range.prefix() < min) {
            return Optional.of(range + " is larger than a /" + min + ", the largest registration allowed (plan.registrations."
                    + (v4 ? "ipv4" : "ipv6") + "-min-prefix)");
        }
        return Optional.empty();
    }
}
