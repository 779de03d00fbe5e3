package io.isthmus.policy;

import io.isthmus.api.IpLiteral;
import java.util.List;
import java.util.Optional;

/**
 * Why a flow passes or not: who its addresses are, and for each side the policies that apply and the rule (or the
 * default) that decided. {@link #text()} is what {@code isthmus policy explain} prints.
 */
public record Explanation(Flow flow, Optional<Identity> source, Optional<Identity> destination, boolean allowed,
                          long decision, Side egress, Side ingress) {

    /**
     * One side: egress is judged for the source by the policies applying to it, ingress for the destination.
     *
     * @param applying the policies whose appliesTo selects that side's address, in evaluation order
     * @param rule     the rule that decided; empty when the side took the default
     */
    public record Side(RuleRef.Side side, List<String> applying, Optional<RuleRef> rule, String why) {
        public Side {
            applying = List.copyOf(applying);
        }
    }

    public String text() {
        return flow + ": " + (allowed ? "ALLOW" : "DENY") + "\n"
                + "  source      " + IpLiteral.format(flow.source()) + ": " + who(source) + "\n"
                + "  destination " + IpLiteral.format(flow.destination()) + ": " + who(destination) + "\n"
                + "  egress  (policies applying to the source: " + names(egress) + "): " + egress.why() + "\n"
                + "  ingress (policies applying to the destination: " + names(ingress) + "): " + ingress.why() + "\n";
    }

    private static String who(Optional<Identity> identity) {
        return identity.map(Identity::toString).orElse("outside the clusterset");
    }

    private static String names(Side side) {
        return side.applying().isEmpty() ? "none" : String.join(", ", side.applying());
    }
}
