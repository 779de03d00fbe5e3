package io.isthmus.api.ipam;

import io.isthmus.api.Cidr;

import java.math.BigInteger;

/** How much of one CIDR of a pool is in use: {@code capacity} allocatable addresses, {@code used} of them held. */
public record FamilyUsage(Cidr cidr, BigInteger capacity, long used) {
}
