package io.isthmus.tunnel;

import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A 256-bit AEAD key that can be wiped: {@link javax.crypto.spec.SecretKeySpec#destroy()} refuses to, so a retired
 * session could not clear its keys. The JDK providers copy the bytes through {@link #getEncoded()} when a cipher is
 * initialised; their copies are overwritten when that cipher is next initialised with another key.
 */
final class SessionKey implements SecretKey {
    private final String algorithm;
    private final byte[] key;
    private volatile boolean destroyed;

    SessionKey(String algorithm, byte[] key, int offset) {
        this.algorithm = algorithm;
        this.key = Arrays.copyOfRange(key, offset, offset + Suite.KEY_BYTES);
    }

    @Override
    public String getAlgorithm() {
        return algorithm;
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            throw new IllegalStateException("the key of a retired session was used");
        }
        return key.clone();
    }

    /** Exposes the bytes to tests that compare the two sides' keys; never leaves the process otherwise. */
    boolean sameBytes(SessionKey other) {
        return Arrays.equals(key, other.key);
    }

    @Override
    public void destroy() {
        destroyed = true;
        Arrays.fill(key, (byte) 0);
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    @Override
    public String toString() {
        return "SessionKey[" + algorithm + (destroyed ? ", destroyed" : "") + "]";
    }
}
