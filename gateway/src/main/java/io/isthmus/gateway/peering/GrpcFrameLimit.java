package io.isthmus.gateway.peering;

import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;

/**
 * Holds every gRPC message of a request stream to a limit counted after decompression. An uncompressed message
 * whose declared length is above the limit is refused as soon as its 5-byte frame header arrives, before any of it
 * is buffered (Pekko gRPC 1.1 sets no limit of its own on the server side). A gzip-compressed message (compressed
 * flag set, request {@code grpc-encoding: gzip}) is buffered (its compressed size is under the limit too), inflated
 * here with the limit, and passed on as an uncompressed frame: Pekko gRPC's own gzip reader inflates without bound,
 * so a few KiB that inflate to gigabytes never reach it. Uncompressed frames pass through unchanged.
 *
 * <p>A refused message does not fail this stream: that would cancel the request, and HTTP/2 would reset the call
 * before the peer hears why. The refusal goes to {@code onRefused} (the service fails the call with it, so the peer
 * gets a gRPC status), and everything the peer sends after it is dropped unread.
 */
final class GrpcFrameLimit {
    private static final int HEADER_BYTES = 5; // 1 byte compressed flag, 4 bytes big-endian length

    private GrpcFrameLimit() {
    }

    /** Why a message was refused: {@code reason} as in the metrics, {@code length} what it declared or inflated to. */
    @FunctionalInterface
    interface Refusal {
        PeeringProtocolException refuse(String reason, long length);
    }

    /** The reason counted for a message whose frame declares more than the limit. */
    static final String OVERSIZED = "oversized";
    /** The reason counted for a compressed message that inflates to more than the limit. */
    static final String DECOMPRESSED_OVERSIZED = "decompressed-oversized";
    /** The reason counted for a compressed message that is not valid gzip. */
    static final String BAD_COMPRESSION = "bad-compression";

    /**
     * @param gzip whether the stream's messages are gzip-compressed where their flag says so ({@code grpc-encoding:
     *             gzip}); otherwise compressed frames pass through and gRPC refuses them itself
     */
    static Flow<ByteString, ByteString, NotUsed> flow(long maxMessageBytes, boolean gzip, Refusal refusal,
                                                      Consumer<PeeringProtocolException> onRefused) {
        return Flow.of(ByteString.class).statefulMap(() -> new Scanner(maxMessageBytes, gzip, refusal),
                        (scanner, chunk) -> {
                            if (scanner.refused) {
                                return Pair.create(scanner, ByteString.emptyByteString());
                            }
                            try {
                                return Pair.create(scanner, scanner.scan(chunk));
                            } catch (PeeringProtocolException e) {
                                scanner.refused = true;
                                onRefused.accept(e);
                                return Pair.create(scanner, ByteString.emptyByteString());
                            }
                        },
                        scanner -> Optional.empty())
                .filter(out -> !out.isEmpty());
    }

    /** Where we are in the frame sequence; one per stream, only touched by that stream's stage. */
    private static final class Scanner {
        private final long max;
        private final boolean gzip;
        private final Refusal refusal;
        private final byte[] header = new byte[HEADER_BYTES];
        private int headerSeen;
        private long payloadLeft;
        /** The compressed message being gathered; null while passing an uncompressed one through. */
        private ByteStringBuilder compressed;
        /** A message was refused: nothing more is passed on. */
        private boolean refused;

        Scanner(long max, boolean gzip, Refusal refusal) {
            this.max = max;
            this.gzip = gzip;
            this.refusal = refusal;
        }

        /** What to pass on for this chunk (possibly nothing yet). */
        ByteString scan(ByteString chunk) {
            ByteString out = ByteString.emptyByteString();
            int position = 0;
            int size = chunk.size();
            while (position < size) {
                if (payloadLeft > 0) {
                    int take = (int) Math.min(payloadLeft, size - position);
                    ByteString part = chunk.slice(position, position + take);
                    payloadLeft -= take;
                    position += take;
                    if (compressed == null) {
                        out = out.concat(part);
                    } else {
                        compressed.append(part);
                        if (payloadLeft == 0) {
                            out = out.concat(inflated(compressed.result()));
                            compressed = null;
                        }
                    }
                    continue;
                }
                header[headerSeen++] = chunk.apply(position++);
                if (headerSeen == HEADER_BYTES) {
                    headerSeen = 0;
                    out = out.concat(startMessage());
                }
            }
            return out;
        }

        /** A frame header is complete: what to pass on of it now. */
        private ByteString startMessage() {
            long length = ((header[1] & 0xffL) << 24) | ((header[2] & 0xff) << 16) | ((header[3] & 0xff) << 8)
                    | (header[4] & 0xff);
            if (length > max) {
                throw refusal.refuse(OVERSIZED, length);
            }
            boolean isCompressed = (header[0] & 1) == 1;
            if (isCompressed && gzip) {
                if (length == 0) {
                    return frame(inflate(ByteString.emptyByteString()));
                }
                compressed = new ByteStringBuilder();
                payloadLeft = length;
                return ByteString.emptyByteString();
            }
            payloadLeft = length;
            return ByteString.fromArray(header.clone());
        }

        private ByteString inflated(ByteString payload) {
            return frame(inflate(payload));
        }

        private ByteString inflate(ByteString payload) {
            ByteStringBuilder out = new ByteStringBuilder();
            byte[] buffer = new byte[32 * 1024];
            long total = 0;
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(payload.toArrayUnsafe()))) {
                for (int read = in.read(buffer); read != -1; read = in.read(buffer)) {
                    total += read;
                    if (total > max) {
                        // Stop inflating at the first byte over: the rest of a bomb is never produced.
                        throw refusal.refuse(DECOMPRESSED_OVERSIZED, total);
                    }
                    out.putBytes(buffer, 0, read);
                }
            } catch (IOException e) {
                throw refusal.refuse(BAD_COMPRESSION, payload.size());
            }
            return out.result();
        }

        /** An uncompressed frame holding {@code message}. */
        private static ByteString frame(ByteString message) {
            int length = message.size();
            byte[] head = {0, (byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length};
            return ByteString.fromArray(head).concat(message);
        }
    }
}
