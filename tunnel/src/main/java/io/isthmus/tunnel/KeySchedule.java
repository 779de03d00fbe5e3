package io.isthmus.tunnel;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * From an X25519 shared secret to the two data-plane keys of one session.
 *
 * <pre>
 * transcript = SHA-256("isthmus-tunnel-v1" ‖ suite ‖ epoch
 *                      ‖ SHA-256(initiator cert DER) ‖ SHA-256(responder cert DER)
 *                      ‖ len ‖ initiator cluster id ‖ len ‖ responder cluster id
 *                      ‖ initiator ephemeral public ‖ responder ephemeral public
 *                      ‖ initiator receiver index ‖ responder receiver index)
 * okm        = HKDF-SHA256(ikm = X25519(shared), salt = transcript, info = "isthmus-tunnel-v1 data keys", 64 bytes)
 * key i→r    = okm[0..32)     key r→i = okm[32..64)
 * </pre>
 *
 * Everything either side could disagree on is in the transcript, so a different certificate, cluster, suite, epoch,
 * public key or index gives unrelated keys and the first packet fails authentication.
 */
final class KeySchedule {
    private static final byte[] LABEL = "isthmus-tunnel-v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INFO = "isthmus-tunnel-v1 data keys".getBytes(StandardCharsets.US_ASCII);

    /** What both ends feed into the schedule, ordered by role (initiator first), not by who computes it. */
    record Transcript(Suite suite, long epoch, TunnelIdentity initiator, TunnelIdentity responder,
                      byte[] initiatorPublic, byte[] responderPublic, int initiatorIndex, int responderIndex) {
        byte[] digest() {
            ByteArrayOutputStream out = new ByteArrayOutputStream(256);
            out.writeBytes(LABEL);
            out.write(suite.ordinal() + 1);
            out.writeBytes(ByteBuffer.allocate(8).putLong(epoch).array());
            out.writeBytes(initiator.certificateSha256());
            out.writeBytes(responder.certificateSha256());
            writeWithLength(out, initiator.cluster().value().getBytes(StandardCharsets.UTF_8));
            writeWithLength(out, responder.cluster().value().getBytes(StandardCharsets.UTF_8));
            out.writeBytes(initiatorPublic);
            out.writeBytes(responderPublic);
            out.writeBytes(ByteBuffer.allocate(8).putInt(initiatorIndex).putInt(responderIndex).array());
            return TunnelIdentity.sha256(out.toByteArray());
        }

        private static void writeWithLength(ByteArrayOutputStream out, byte[] bytes) {
            out.write(bytes.length);
            out.writeBytes(bytes);
        }
    }

    /** The two directions' keys; {@link #wipe()} once they are in {@link SessionKey}s. */
    record DirectionKeys(byte[] initiatorToResponder, byte[] responderToInitiator) {
        void wipe() {
            Arrays.fill(initiatorToResponder, (byte) 0);
            Arrays.fill(responderToInitiator, (byte) 0);
        }
    }

    private KeySchedule() {
    }

    /** Derives the keys and wipes {@code sharedSecret}. */
    static DirectionKeys derive(byte[] sharedSecret, Transcript transcript) {
        byte[] okm = new byte[2 * Suite.KEY_BYTES];
        try {
            HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
            hkdf.init(new HKDFParameters(sharedSecret, transcript.digest(), INFO));
            hkdf.generateBytes(okm, 0, okm.length);
            return new DirectionKeys(Arrays.copyOfRange(okm, 0, Suite.KEY_BYTES),
                    Arrays.copyOfRange(okm, Suite.KEY_BYTES, okm.length));
        } finally {
            Arrays.fill(okm, (byte) 0);
            Arrays.fill(sharedSecret, (byte) 0);
        }
    }
}
