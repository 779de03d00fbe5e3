package io.isthmus.tunnel;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.tunnel.CipherSuite;

/**
 * The AEAD that seals data-plane packets. Both use 256-bit keys, a 96-bit nonce and a 128-bit tag, from the JDK's
 * own provider: AES-GCM runs on the AES-NI/VAES and CLMUL intrinsics, ChaCha20-Poly1305 helps where AES has no
 * hardware support. There is no plaintext suite.
 */
public enum Suite {
    AES_256_GCM("AES/GCM/NoPadding", "AES", CipherSuite.AES_256_GCM),
    CHACHA20_POLY1305("ChaCha20-Poly1305", "ChaCha20", CipherSuite.CHACHA20_POLY1305);

    public static final int KEY_BYTES = 32;
    public static final int NONCE_BYTES = 12;
    public static final int TAG_BYTES = 16;

    private final String transformation;
    private final String keyAlgorithm;
    private final CipherSuite wire;

    Suite(String transformation, String keyAlgorithm, CipherSuite wire) {
        this.transformation = transformation;
        this.keyAlgorithm = keyAlgorithm;
        this.wire = wire;
    }

    /** The JCE transformation, e.g. {@code AES/GCM/NoPadding}. */
    public String transformation() {
        return transformation;
    }

    String keyAlgorithm() {
        return keyAlgorithm;
    }

    public CipherSuite toWire() {
        return wire;
    }

    /** The suite a handshake message names; unspecified or unknown values are refused, never read as plaintext. */
    public static Suite fromWire(String field, CipherSuite suite) {
        return switch (suite) {
            case AES_256_GCM -> AES_256_GCM;
            case CHACHA20_POLY1305 -> CHACHA20_POLY1305;
            case CIPHER_SUITE_UNSPECIFIED, UNRECOGNIZED ->
                    throw new InvalidFieldException(field, suite, "must be AES_256_GCM or CHACHA20_POLY1305");
        };
    }

    /** Parses a configured name: {@code aes-256-gcm} or {@code chacha20-poly1305}. */
    public static Suite parse(String field, String text) {
        for (Suite suite : values()) {
            if (suite.name().replace('_', '-').equalsIgnoreCase(text == null ? "" : text.trim())) {
                return suite;
            }
        }
        throw new InvalidFieldException(field, text, "must be aes-256-gcm or chacha20-poly1305");
    }
}
