package io.isthmus.k8s.crd;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ipam.AddressRange;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.Route;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * Turns an {@link IPPool} into the IPAM's {@link PoolSpec}, with every complaint naming the field as the object's
 * author wrote it ({@code spec.cidrs[0]}, {@code spec.exclude[2]}, {@code metadata.name}).
 */
public final class IpPoolSpecs {
    /** The segment kinds of the clusterset address plan, as {@code spec.kind} spells them. */
    public static final List<String> SEGMENT_KINDS = List.of("pod", "service", "underlay", "global");
    public static final String DEFAULT_KIND = "pod";

    private IpPoolSpecs() {
    }

    /** The pool an IPPool describes; throws {@link InvalidFieldException} naming the {@code spec.*} field. */
    public static PoolSpec toPoolSpec(String name, IPPoolSpec spec) {
        if (spec == null) {
            throw new InvalidFieldException("spec", "", "is required: an IPPool needs at least spec.cidrs");
        }
        try {
            return new PoolSpec(name,
                    parseAll(spec.cidrs(), "spec.cidrs", Cidr::parse),
                    parseAll(spec.exclude(), "spec.exclude", AddressRange::parse),
                    parseAll(spec.reserved(), "spec.reserved", IpLiteral::parse),
                    parseAll(spec.gateways(), "spec.gateways", IpLiteral::parse),
                    routes(spec.routes()));
        } catch (InvalidFieldException e) {
            throw e.as(specField(e.field()));
        }
    }

    /** {@code spec.kind}, lower case, defaulting to {@value #DEFAULT_KIND}. */
    public static String segmentKind(IPPoolSpec spec) {
        String kind = spec == null || spec.kind() == null || spec.kind().isBlank() ? DEFAULT_KIND : spec.kind().trim();
        if (!SEGMENT_KINDS.contains(kind)) {
            throw new InvalidFieldException("spec.kind", kind, "must be one of " + String.join(", ", SEGMENT_KINDS));
        }
        return kind;
    }

    /**
     * The IPPool field for a field name of the IPAM ({@code pool.gateway[1]} becomes {@code spec.gateways[1]});
     * names that are not the pool's stay as they are.
     */
    public static String specField(String ipamField) {
        if (ipamField == null || ipamField.isEmpty()) {
            return "";
        }
        if (ipamField.equals("pool.name")) {
            return "metadata.name";
        }
        for (String[] rename : RENAMES) {
            if (ipamField.equals(rename[0]) || ipamField.startsWith(rename[0] + "[")) {
                return rename[1] + ipamField.substring(rename[0].length());
            }
        }
        return ipamField;
    }

    /** Every IPAM field name in {@code message} said as the IPPool's ({@code pool.exclude[0]} → {@code spec.exclude[0]}). */
    public static String specMessage(String message) {
        String result = message == null ? "" : message;
        for (String[] rename : RENAMES) {
            result = result.replaceAll("\\b" + java.util.regex.Pattern.quote(rename[0]) + "(?=[\\[ '])", rename[1]);
        }
        return result.replace("pool.name ", "metadata.name ");
    }

    private static final String[][] RENAMES = {
            {"pool.cidrs", "spec.cidrs"}, {"pool.cidr", "spec.cidrs"}, {"pool.exclude", "spec.exclude"},
            {"pool.reserved", "spec.reserved"}, {"pool.gateways", "spec.gateways"}, {"pool.gateway", "spec.gateways"},
            {"pool.routes", "spec.routes"}, {"pool.route", "spec.routes"}};

    private static List<Route> routes(List<IPPoolSpec.PoolRoute> routes) {
        List<Route> parsed = new ArrayList<>();
        if (routes == null) {
            return parsed;
        }
        for (int i = 0; i < routes.size(); i++) {
            IPPoolSpec.PoolRoute route = routes.get(i);
            String field = "spec.routes[" + i + "]";
            if (route == null || route.destination() == null) {
                throw new InvalidFieldException(field + ".destination", "", "is required (a CIDR such as 0.0.0.0/0)");
            }
            Cidr destination = Cidr.parse(field + ".destination", route.destination());
            Optional<InetAddress> via = route.via() == null || route.via().isBlank() ? Optional.empty()
                    : Optional.of(IpLiteral.parse(field + ".via", route.via()));
            try {
                parsed.add(new Route(destination, via));
            } catch (InvalidFieldException e) {
                throw e.as(field);
            }
        }
        return parsed;
    }

    private static <T> List<T> parseAll(List<String> texts, String field, BiFunction<String, String, T> parse) {
        List<T> parsed = new ArrayList<>();
        if (texts == null) {
            return parsed;
        }
        for (int i = 0; i < texts.size(); i++) {
            parsed.add(parse.apply(field + "[" + i + "]", texts.get(i)));
        }
        return parsed;
    }
}
