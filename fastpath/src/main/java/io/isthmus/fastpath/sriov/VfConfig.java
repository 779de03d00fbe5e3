package io.isthmus.fastpath.sriov;

import io.isthmus.fastpath.InvalidArgumentException;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Settings for one VF, sent to its PF in one rtnetlink request; only the ones given are changed.
 *
 * <pre>{@code
 * VfConfig.of(3).withMac(MacAddress.parse("mac", "02:00:5e:10:00:03")).withVlan(100, 0)
 *         .withSpoofCheck(true).withTrust(false).withRate(0, 1000)
 * }</pre>
 *
 * @param vf the VF index on its PF ({@code virtfnN}); the kernel refuses {@code INT_MAX} and above
 */
public record VfConfig(int vf, Optional<MacAddress> mac, Optional<Vlan> vlan, Optional<Boolean> trust,
                       Optional<Boolean> spoofCheck, Optional<Rate> rate) {

    /** A port VLAN (802.1Q) the VF's traffic is tagged with: id 0 (none) to 4095, priority (qos) 0 to 7. */
    public record Vlan(int id, int qos) {
        public Vlan {
            if (id < 0 || id > 4095) {
                throw new InvalidArgumentException("vlan", id, "must be 0 (no VLAN) to 4095");
            }
            if (qos < 0 || qos > 7) {
                throw new InvalidArgumentException("qos", qos, "must be an 802.1p priority, 0 to 7");
            }
        }
    }

    /** Transmit rate limits in Mbit/s; 0 means no limit (max) or no guarantee (min). */
    public record Rate(int minMbps, int maxMbps) {
        public Rate {
            if (minMbps < 0) {
                throw new InvalidArgumentException("minTxRate", minMbps, "must be 0 or more Mbit/s");
            }
            if (maxMbps < 0) {
                throw new InvalidArgumentException("maxTxRate", maxMbps, "must be 0 (no limit) or more Mbit/s");
            }
            if (maxMbps != 0 && minMbps > maxMbps) {
                throw new InvalidArgumentException("minTxRate", minMbps, "is above maxTxRate " + maxMbps);
            }
        }
    }

    public VfConfig {
        if (vf < 0 || vf == Integer.MAX_VALUE) {
            throw new InvalidArgumentException("vf", vf, "must be a VF index, 0 to " + (Integer.MAX_VALUE - 1));
        }
        Objects.requireNonNull(mac, "mac");
        Objects.requireNonNull(vlan, "vlan");
        Objects.requireNonNull(trust, "trust");
        Objects.requireNonNull(spoofCheck, "spoofCheck");
        Objects.requireNonNull(rate, "rate");
        if (mac.isPresent() && mac.get().multicast()) {
            throw new InvalidArgumentException("mac", mac.get(), "is a multicast address; a VF needs a unicast one");
        }
    }

    /** Nothing set yet: add settings with the {@code with} methods. */
    public static VfConfig of(int vf) {
        return new VfConfig(vf, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty());
    }

    public VfConfig withMac(MacAddress address) {
        return new VfConfig(vf, Optional.of(address), vlan, trust, spoofCheck, rate);
    }

    public VfConfig withVlan(int id, int qos) {
        return new VfConfig(vf, mac, Optional.of(new Vlan(id, qos)), trust, spoofCheck, rate);
    }

    public VfConfig withTrust(boolean trusted) {
        return new VfConfig(vf, mac, vlan, Optional.of(trusted), spoofCheck, rate);
    }

    public VfConfig withSpoofCheck(boolean on) {
        return new VfConfig(vf, mac, vlan, trust, Optional.of(on), rate);
    }

    public VfConfig withRate(int minMbps, int maxMbps) {
        return new VfConfig(vf, mac, vlan, trust, spoofCheck, Optional.of(new Rate(minMbps, maxMbps)));
    }

    public boolean isEmpty() {
        return mac.isEmpty() && vlan.isEmpty() && trust.isEmpty() && spoofCheck.isEmpty() && rate.isEmpty();
    }

    /** What is set, for messages: {@code mac 02:00:5e:10:00:03, vlan 100 qos 0, spoofchk on}. */
    public String describe() {
        List<String> parts = new ArrayList<>();
        mac.ifPresent(m -> parts.add("mac " + m));
        vlan.ifPresent(v -> parts.add("vlan " + v.id() + " qos " + v.qos()));
        rate.ifPresent(r -> parts.add("min_tx_rate " + r.minMbps() + " max_tx_rate " + r.maxMbps()));
        spoofCheck.ifPresent(on -> parts.add("spoofchk " + (on ? "on" : "off")));
        trust.ifPresent(on -> parts.add("trust " + (on ? "on" : "off")));
        return parts.isEmpty() ? "nothing" : String.join(", ", parts);
    }
}
