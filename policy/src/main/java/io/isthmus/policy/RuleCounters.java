package io.isthmus.policy;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Hits per rule, without locks and without allocating: packets, bytes and the wall time of the last hit (epoch
 * milliseconds, 0 never) per slot. Slots 0..n-1 are the table's {@link DecisionTable#rules()}; slot n counts egress
 * sides that took the default, n+1 ingress sides. A packet counts once on each side's slot, so an allowed packet
 * shows on the egress rule and on the ingress rule that let it through, and a denied one on the rule that denied it.
 * Shared by tables recompiled for new identities over the same policies.
 */
public final class RuleCounters {
    private final int rules;
    private final AtomicLongArray packets;
    private final AtomicLongArray bytes;
    private final AtomicLongArray lastHit;

    RuleCounters(int rules) {
        this.rules = rules;
        this.packets = new AtomicLongArray(rules + 2);
        this.bytes = new AtomicLongArray(rules + 2);
        this.lastHit = new AtomicLongArray(rules + 2);
    }

    /** Counts one packet of {@code length} bytes on the slots of both sides of {@code decision}. */
    public void hit(long decision, int length) {
        long now = System.currentTimeMillis();
        count(Decision.egressRule(decision) >= 0 ? Decision.egressRule(decision) : rules, length, now);
        count(Decision.ingressRule(decision) >= 0 ? Decision.ingressRule(decision) : rules + 1, length, now);
    }

    private void count(int slot, int length, long now) {
        packets.incrementAndGet(slot);
        bytes.addAndGet(slot, length);
        if (lastHit.get(slot) != now) { // a plain read first: most packets of a busy rule share a millisecond
            lastHit.set(slot, now);
        }
    }

    /** How many rules (the default slots not included). */
    public int rules() {
        return rules;
    }

    public long packets(int rule) {
        return packets.get(rule);
    }

    public long bytes(int rule) {
        return bytes.get(rule);
    }

    /** Epoch milliseconds of the last hit, 0 for none. */
    public long lastHit(int rule) {
        return lastHit.get(rule);
    }

    public int egressDefaultSlot() {
        return rules;
    }

    public int ingressDefaultSlot() {
        return rules + 1;
    }
}
