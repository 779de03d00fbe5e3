package io.isthmus.ipam.cni;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The frames between the {@code isthmus-ipam} plugin and the gateway (ipam-actors/CNI.md has the layout): a 4-byte
 * big-endian length, then the payload. The plugin sends a {@link Request}; the gateway answers a {@link Reply}. An
 * ADD gets a {@link Reply.Kind#RESERVED} reply first, and the plugin sends a {@link Op#COMMIT} request on the same
 * connection to get the final one.
 */
final class CniWire {
    static final int PROTOCOL_VERSION = 1;
    /** Mirrors MAX_FRAME in isthmus-ipam.c: a 1 MiB config plus the environment. */
    static final int MAX_FRAME = 1024 * 1024 + 64 * 1024;

    private CniWire() {
    }

    /** The operations, with their byte on the wire. */
    enum Op {
        ADD(1), DEL(2), CHECK(3), STATUS(4), GC(5), COMMIT(6);

        final int wire;

        Op(int wire) {
            this.wire = wire;
        }

        static Op ofWire(int value) throws ProtocolException {
            for (Op op : values()) {
                if (op.wire == value) {
                    return op;
                }
            }
            throw new ProtocolException("unknown operation " + value);
        }
    }

    /** One call as the plugin saw it: the command, the CNI_* variables (empty when unset) and the raw stdin. */
    record Request(Op op, String containerId, String netns, String ifname, String args, String path, byte[] config) {
        static Request commit() {
            return new Request(Op.COMMIT, "", "", "", "", "", new byte[0]);
        }
    }

    /** The gateway's answer: for {@link Kind#DONE}, the plugin's exit code and stdout; {@code log} goes to stderr. */
    record Reply(Kind kind, int exitCode, byte[] stdout, String log) {
        enum Kind {
            RESERVED(1), DONE(2);

            final int wire;

            Kind(int wire) {
                this.wire = wire;
            }
        }

        static Reply done(int exitCode, String stdout, String log) {
            return new Reply(Kind.DONE, exitCode, stdout.getBytes(StandardCharsets.UTF_8), log);
        }

        static Reply reserved(String log) {
            return new Reply(Kind.RESERVED, 0, new byte[0], log);
        }
    }

    /** A frame that breaks the protocol; the connection is answered with an I/O error and closed. */
    static final class ProtocolException extends IOException {
        ProtocolException(String message) {
            super(message);
        }
    }

    /** Reads one request; null at a clean end of stream before its first byte. */
    static Request readRequest(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        byte[] payload = readFrame(in);
        if (payload == null) {
            return null;
        }
        DataInputStream body = new DataInputStream(new java.io.ByteArrayInputStream(payload));
        try {
            int version = body.readUnsignedByte();
            if (version != PROTOCOL_VERSION) {
                throw new ProtocolException("protocol version " + version + ", this gateway speaks " + PROTOCOL_VERSION);
            }
            Op op = Op.ofWire(body.readUnsignedByte());
            if (op == Op.COMMIT) {
                expectEnd(body);
                return Request.commit();
            }
            Request request = new Request(op, text(body), text(body), text(body), text(body), text(body), field(body));
            expectEnd(body);
            return request;
        } catch (EOFException e) {
            throw new ProtocolException("truncated request frame");
        }
    }

    static void writeRequest(OutputStream stream, Request request) throws IOException {
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(payload);
        out.writeByte(PROTOCOL_VERSION);
        out.writeByte(request.op().wire);
        if (request.op() != Op.COMMIT) {
            for (String text : new String[] {request.containerId(), request.netns(), request.ifname(), request.args(), request.path()}) {
                writeField(out, text.getBytes(StandardCharsets.UTF_8));
            }
            writeField(out, request.config());
        }
        writeFrame(stream, payload.toByteArray());
    }

    static void writeReply(OutputStream stream, Reply reply) throws IOException {
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(payload);
        out.writeByte(PROTOCOL_VERSION);
        out.writeByte(reply.kind().wire);
        out.writeByte(reply.exitCode());
        writeField(out, reply.stdout());
        writeField(out, reply.log().getBytes(StandardCharsets.UTF_8));
        writeFrame(stream, payload.toByteArray());
    }

    static Reply readReply(InputStream stream) throws IOException {
        byte[] payload = readFrame(new DataInputStream(stream));
        if (payload == null) {
            throw new EOFException("the gateway closed the connection");
        }
        DataInputStream body = new DataInputStream(new java.io.ByteArrayInputStream(payload));
        int version = body.readUnsignedByte();
        if (version != PROTOCOL_VERSION) {
            throw new ProtocolException("protocol version " + version);
        }
        int kind = body.readUnsignedByte();
        Reply.Kind replyKind = kind == Reply.Kind.RESERVED.wire ? Reply.Kind.RESERVED : Reply.Kind.DONE;
        int exitCode = body.readUnsignedByte();
        byte[] stdout = field(body);
        String log = new String(field(body), StandardCharsets.UTF_8);
        return new Reply(replyKind, exitCode, stdout, log);
    }

    private static byte[] readFrame(DataInputStream in) throws IOException {
        int first = in.read();
        if (first < 0) {
            return null;
        }
        byte[] rest = new byte[3];
        in.readFully(rest);
        long length = ((long) first << 24) | ((rest[0] & 0xffL) << 16) | ((rest[1] & 0xffL) << 8) | (rest[2] & 0xffL);
        if (length > MAX_FRAME) {
            throw new ProtocolException("frame of " + length + " bytes, the limit is " + MAX_FRAME);
        }
        byte[] payload = new byte[(int) length];
        in.readFully(payload);
        return payload;
    }

    private static void writeFrame(OutputStream stream, byte[] payload) throws IOException {
        DataOutputStream out = new DataOutputStream(stream);
        out.writeInt(payload.length);
        out.write(payload);
        out.flush();
    }

    private static String text(DataInputStream body) throws IOException {
        return new String(field(body), StandardCharsets.UTF_8);
    }

    private static byte[] field(DataInputStream body) throws IOException {
        long length = body.readInt() & 0xffffffffL;
        if (length > body.available()) {
            throw new ProtocolException("field of " + length + " bytes overruns its frame");
        }
        byte[] bytes = new byte[(int) length];
        body.readFully(bytes);
        return bytes;
    }

    private static void writeField(DataOutputStream out, byte[] bytes) throws IOException {
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static void expectEnd(DataInputStream body) throws IOException {
        if (body.available() != 0) {
            throw new ProtocolException(body.available() + " stray bytes after the request");
        }
    }
}
