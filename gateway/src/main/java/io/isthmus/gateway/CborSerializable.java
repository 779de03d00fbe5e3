package io.isthmus.gateway;

/**
 * Marks messages, events and state that cross a Pekko boundary (another replica, or the journal);
 * bound to Jackson CBOR in the gateway's Pekko settings.
 */
public interface CborSerializable {
}
