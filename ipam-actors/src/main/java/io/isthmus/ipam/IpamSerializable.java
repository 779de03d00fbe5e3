package io.isthmus.ipam;

/**
 * Marks IPAM messages, events and snapshots that cross a Pekko boundary (another replica, the journal); bound to
 * Jackson CBOR in this module's reference.conf.
 */
public interface IpamSerializable {
}
