package io.isthmus.tunnel;

import java.security.GeneralSecurityException;
import java.security.spec.AlgorithmParameterSpec;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;

/**
 * Seals and opens data-plane packets for one thread: one JDK {@link Cipher} per suite, made once and initialised
 * per packet (an AEAD needs a fresh nonce each time). Per packet the JDK still allocates a little: the parameter
 * spec and its copy of the nonce, and the provider's copy of the key from {@link SessionKey#getEncoded()} (the AES
 * key schedule itself is only recomputed when the key changes). Not thread-safe: one per worker thread.
 */
final class PacketCipher {
    private final Cipher aesGcm;
    private final Cipher chaCha;
    private final byte[] nonce = new byte[Suite.NONCE_BYTES];

    PacketCipher() {
        try {
            aesGcm = Cipher.getInstance(Suite.AES_256_GCM.transformation());
            chaCha = Cipher.getInstance(Suite.CHACHA20_POLY1305.transformation());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK provides AES/GCM and ChaCha20-Poly1305; this one does not", e);
        }
    }

    /**
     * Writes header (with {@code lane} and {@code counter}) and ciphertext of {@code plainLength} bytes at {@code plain[plainAt]} to {@code out[outAt]} and
     * returns the datagram's length.
     */
    int seal(Session session, byte type, int lane, long counter, byte[] plain, int plainAt, int plainLength,
             byte[] out, int outAt) throws GeneralSecurityException {
        WireFormat.writeHeader(out, outAt, type, lane, session.wireVersion(), session.remoteIndex(), counter);
        Cipher cipher = init(session.suite(), Cipher.ENCRYPT_MODE, session.sendKey(), lane, counter);
        cipher.updateAAD(out, outAt, WireFormat.HEADER_BYTES);
        int sealed = cipher.doFinal(plain, plainAt, plainLength, out, outAt + WireFormat.HEADER_BYTES);
        return WireFormat.HEADER_BYTES + sealed;
    }

    /**
     * Opens the datagram of {@code length} bytes at {@code in[at]} (header checked by the caller) into
     * {@code out[outAt]}; returns the plaintext length, or -1 when the tag does not verify.
     */
    int open(Session session, byte[] in, int at, int length, byte[] out, int outAt) throws GeneralSecurityException {
        long counter = WireFormat.counter(in, at);
        try {
            Cipher cipher = init(session.suite(), Cipher.DECRYPT_MODE, session.receiveKey(), WireFormat.lane(in, at),
                    counter);
            cipher.updateAAD(in, at, WireFormat.HEADER_BYTES);
            return cipher.doFinal(in, at + WireFormat.HEADER_BYTES, length - WireFormat.HEADER_BYTES, out, outAt);
        } catch (AEADBadTagException e) {
            return -1;
        } catch (IllegalStateException e) {
            return -1; // the session was retired (its key wiped) while this packet was on its way
        }
    }

    private Cipher init(Suite suite, int mode, SessionKey key, int lane, long counter)
            throws GeneralSecurityException {
        WireFormat.writeInt(nonce, 0, lane);
        WireFormat.writeInt(nonce, 4, (int) (counter >>> 32));
        WireFormat.writeInt(nonce, 8, (int) counter);
        Cipher cipher = switch (suite) {
            case AES_256_GCM -> aesGcm;
            case CHACHA20_POLY1305 -> chaCha;
        };
        AlgorithmParameterSpec spec = switch (suite) {
            case AES_256_GCM -> new GCMParameterSpec(Suite.TAG_BYTES * 8, nonce);
            case CHACHA20_POLY1305 -> new IvParameterSpec(nonce);
        };
        cipher.init(mode, key, spec);
        return cipher;
    }
}
