package io.isthmus.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;

import java.util.List;

/**
 * What the gateway did with an {@link IPPool}: the {@code Ready} condition (True, or False with the reason and a
 * message naming the bad field and value), the generation it looked at, and the pool's usage as the IPAM reports it.
 * The clusterset address plan stays with the gateway's segment ledger; {@code segments} shows which of this cluster's
 * segments hold the pool.
 *
 * @param size      allocatable addresses over all CIDRs (a decimal string: an IPv6 /64 does not fit a number)
 * @param allocated active leases
 * @param parked    fixed IPs kept for absent StatefulSet pods / VMs
 * @param reserved  reservations not yet committed
 * @param reclaimed leases the reclaimer has taken back since the pool was created
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record IPPoolStatus(List<Condition> conditions, Long observedGeneration, String size, Long allocated,
                           Long parked, Long reserved, Long reclaimed, List<String> segments) {
}
