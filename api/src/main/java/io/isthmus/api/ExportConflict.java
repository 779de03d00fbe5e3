package io.isthmus.api;

/**
 * Two clusters export the same service with properties that cannot both hold (MCS: the type, or one port with
 * another number or protocol). The oldest export wins; every export involved carries the condition.
 *
 * @param field   what disagrees: {@code type} or {@code port <name>}
 * @param winner  the cluster whose (oldest) export decides
 * @param loser   a cluster whose export disagrees
 * @param message a sentence for people: what each cluster says and which one is used
 */
public record ExportConflict(String field, ClusterId winner, ClusterId loser, String message) {
    public boolean involves(ClusterId cluster) {
        return winner.equals(cluster) || loser.equals(cluster);
    }
}
