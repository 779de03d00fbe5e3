package io.isthmus.gateway.peering;

import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;

import java.util.Optional;
import java.util.function.LongFunction;

/**
 * Refuses a gRPC message whose declared length is above a limit as soon as its 5-byte frame header arrives, before
 * any of it is buffered. Pekko gRPC 1.1 sets no limit of its own on the server side: a peer could otherwise declare
 * a frame of 4 GiB and make us buffer it. Bytes pass through unchanged; only the frame headers are read.
 */
final class GrpcFrameLimit {
    private static final int HEADER_BYTES = 5; // 1 byte compressed flag, 4 bytes big-endian length

    private GrpcFrameLimit() {
    }

    /** {@code refusal} builds the exception that fails the stream, given the declared length. */
    static Flow<ByteString, ByteString, NotUsed> flow(long maxMessageBytes, LongFunction<RuntimeException> refusal) {
        return Flow.of(ByteString.class).statefulMap(() -> new Scanner(maxMessageBytes, refusal),
                (scanner, chunk) -> {
                    scanner.scan(chunk);
                    return Pair.create(scanner, chunk);
                },
                scanner -> Optional.empty());
    }

    /** Where we are in the frame sequence; one per stream, only touched by that stream's stage. */
    private static final class Scanner {
        private final long max;
        private final LongFunction<RuntimeException> refusal;
        private int headerSeen;
        private long declaredLength;
        private long payloadLeft;

        Scanner(long max, LongFunction<RuntimeException> refusal) {
            this.max = max;
            this.refusal = refusal;
        }

        void scan(ByteString chunk) {
            int position = 0;
            int size = chunk.size();
            while (position < size) {
                if (payloadLeft > 0) {
                    long skip = Math.min(payloadLeft, size - position);
                    payloadLeft -= skip;
                    position += (int) skip;
                    continue;
                }
                int b = chunk.apply(position++) & 0xff;
                if (headerSeen > 0) { // byte 0 is the compressed flag; 1..4 the length
                    declaredLength = (declaredLength << 8) | b;
                }
                if (++headerSeen == HEADER_BYTES) {
                    if (declaredLength > max) {
                        throw refusal.apply(declaredLength);
                    }
                    payloadLeft = declaredLength;
                    headerSeen = 0;
                    declaredLength = 0;
                }
            }
        }
    }
}
