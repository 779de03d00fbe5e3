package io.isthmus.dns;

import io.isthmus.api.ImportedService;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.HINFORecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The zone table as it was before it became incremental (a verbatim copy, renamed, of the hash table rebuilt
 * whole for every directory): the reference the incremental {@link ZoneTable} is tested against.
 *
 * <p>The zone of one directory as ready-made response bytes, so answering is a lookup and a copy. Built once per
 * directory snapshot (a few microseconds per name, and only for services that changed), then only read, from any
 * number of threads.
 *
 * <p>Every name is one byte array (a <em>node</em>), kept in an open-addressing table keyed by the name's
 * lower-case wire form:
 * <pre>
 *   node    = nameLength:u8  name  count:u8  count * (qtype:u16 payloadOffset:u32)  payload*
 *   payload = ancount:u16  arcount:u16  coreLength:u16  fullLength:u16  bytes[fullLength]
 * </pre>
 * {@code bytes} are the answer records, then the additional records (after {@code coreLength}), encoded for a
 * message whose question is this name at offset 12: names are compressed against the question, whose length is
 * the same whatever case the client writes it in. The owner names therefore echo the client's spelling.
 * Negative answers share one SOA tail per question length, since the SOA owner points at the zone's place in
 * the question. One array per name rather than objects per record keeps memory small and linear.
 */
final class FullRebuildZoneTable {
    private static final Logger log = LoggerFactory.getLogger(FullRebuildZoneTable.class);
    static final int HEADER = 12;
    static final int MAX_MESSAGE = 65_535;
    static final int OPT_LENGTH = 11;
    static final int MAX_NAME = 255;
    /** RFC 1035 §4.2.1: the UDP size every client takes; a minimal ANY response stays under it. */
    private static final int PLAIN_UDP = 512;
    private static final int ENTRY = 6;
    private static final int PAYLOAD_HEADER = 8;
    /** RFC 8482 §4.1: the one RRset we give for ANY, the first of these a name has. */
    private static final int[] ANY_PREFERENCE = {Type.SOA, Type.A, Type.AAAA, Type.SRV, Type.PTR, Type.TXT, Type.NS};

    /** What a name and type come to. */
    sealed interface Hit permits Answer, Miss {
    }

    /** Records to send: a payload inside {@code node}. */
    record Answer(byte[] node, int payload) implements Hit {
        int answerCount() {
            return u16(node, payload);
        }

        int additionalCount() {
            return u16(node, payload + 2);
        }

        int coreLength() {
            return u16(node, payload + 4);
        }

        int fullLength() {
            return u16(node, payload + 6);
        }

        int bytesStart() {
            return payload + PAYLOAD_HEADER;
        }
    }

    enum Miss implements Hit {
        /** The name exists here, not with this type: NOERROR, SOA in authority. */
        NO_DATA,
        /** Under the zone, no such name: NXDOMAIN, SOA in authority. */
        NX_DOMAIN,
        /** Outside the zone, and not one of the reverse names we own: for the rest of the chain. */
        NOT_OURS
    }

    private final ServiceDirectory source;
    private final byte[] zoneWire;
    private final byte[][] slots;
    private final int nodeCount;
    /** The SOA record for a negative answer, by the wire length of the question's name; null where impossible. */
    private final byte[][] negativeTails;
    /**
     * Each service's nodes, for the next snapshot to reuse while the service has not changed: the services' keys in
     * order, and where each one's nodes start in {@code serviceNodes} (they end where the next one's start). Arrays
     * rather than a map of objects: a few bytes a service.
     */
    private final ServiceKey[] serviceKeys;
    private final int[] firstNode;
    private final byte[][] serviceNodes;

    private FullRebuildZoneTable(ServiceDirectory source, byte[] zoneWire, byte[][] slots, int nodeCount, byte[][] negativeTails,
                      ServiceKey[] serviceKeys, int[] firstNode, byte[][] serviceNodes) {
        this.source = source;
        this.zoneWire = zoneWire;
        this.slots = slots;
        this.nodeCount = nodeCount;
        this.negativeTails = negativeTails;
        this.serviceKeys = serviceKeys;
        this.firstNode = firstNode;
        this.serviceNodes = serviceNodes;
    }

    static FullRebuildZoneTable build(ServiceDirectory directory, ZoneSettings settings) {
        return build(directory, settings, null);
    }

    /**
     * The table of {@code directory}. Services equal to their namesakes in {@code previous} (a table built with the
     * same settings, or null) keep the nodes encoded there, so a snapshot that changes a few services costs little
     * more than a hash table.
     */
    static FullRebuildZoneTable build(ServiceDirectory directory, ZoneSettings settings, FullRebuildZoneTable previous) {
        long ttl = settings.ttlSeconds();
        ServiceKey[] keys = directory.services().keySet().toArray(ServiceKey[]::new);
        Arrays.sort(keys);
        int[] firstNode = new int[keys.length + 1];
        List<byte[]> serviceNodes = new ArrayList<>();
        Set<String> namespaces = new TreeSet<>();
        List<Part> parts = new ArrayList<>();
        for (int k = 0; k < keys.length; k++) {
            ImportedService service = directory.services().get(keys[k]);
            byte[][] known = previous == null ? null : previous.nodesOf(service);
            byte[][] nodes = known != null ? known : encodeAll(ZoneContent.service(service, settings), ttl);
            firstNode[k] = serviceNodes.size();
            serviceNodes.addAll(Arrays.asList(nodes));
            if (nodes.length > 0) {
                namespaces.add(service.key().namespace());
            }
            parts.add(new Part(service, nodes));
        }
        firstNode[keys.length] = serviceNodes.size();
        Map<Name, Map<Integer, ZoneContent.RRset>> shared = new LinkedHashMap<>(ZoneContent.apex(directory.version(), settings));
        shared.putAll(ZoneContent.namespaces(namespaces, settings));
        parts.add(new Part(null, encodeAll(shared, ttl)));

        byte[][] slots = new byte[capacityFor(parts.stream().mapToInt(p -> p.nodes().length).sum())][];
        Map<Integer, Set<ImportedService>> collisions = insertAll(slots, parts);
        // Two parts with one name: two services sharing a ClusterSetIP, so one PTR name. Merged, rarely.
        collisions.forEach((slot, owners) -> slots[slot] = merged(slots[slot], owners, shared, settings));
        int nodeCount = (int) Arrays.stream(slots).filter(Objects::nonNull).count();
        byte[][] tails = previous != null && previous.source.version() == directory.version()
                ? previous.negativeTails // the same SOA
                : negativeTails(ZoneContent.soa(directory.version(), settings));
        return new FullRebuildZoneTable(directory, settings.zone().toWireCanonical(), slots, nodeCount, tails, keys, firstNode,
                serviceNodes.toArray(byte[][]::new));
    }

    /** The nodes this table encoded for a service equal to {@code service}, or null if it had no such service. */
    private byte[][] nodesOf(ImportedService service) {
        int k = Arrays.binarySearch(serviceKeys, service.key());
        if (k < 0 || !service.equals(source.services().get(service.key()))) {
            return null;
        }
        return Arrays.copyOfRange(serviceNodes, firstNode[k], firstNode[k + 1]);
    }

    /** A service's nodes, or the zone's own ({@code service} null). */
    private record Part(ImportedService service, byte[][] nodes) {
    }

    private static byte[][] encodeAll(Map<Name, Map<Integer, ZoneContent.RRset>> names, long ttl) {
        byte[][] nodes = new byte[names.size()][];
        int i = 0;
        for (Map.Entry<Name, Map<Integer, ZoneContent.RRset>> name : names.entrySet()) {
            nodes[i++] = encodeNode(name.getKey(), name.getValue().values(), ttl);
        }
        return nodes;
    }

    /** At most 3/4 full, so probes stay short. */
    private static int capacityFor(int nodes) {
        int capacity = 16;
        while (capacity * 3L / 4 < nodes + 1L) {
            capacity *= 2;
        }
        return capacity;
    }

    /** Inserts every part's nodes; returns, by slot, the owners of names that came more than once. */
    private static Map<Integer, Set<ImportedService>> insertAll(byte[][] slots, List<Part> parts) {
        ImportedService[] owners = new ImportedService[slots.length]; // null for the zone's own nodes
        Map<Integer, Set<ImportedService>> collisions = new HashMap<>();
        int mask = slots.length - 1;
        for (Part part : parts) {
            for (byte[] node : part.nodes()) {
                int nameLength = node[0] & 0xFF;
                int i = hash(node, 1, nameLength) & mask;
                while (slots[i] != null && !sameName(slots[i], node)) {
                    i = (i + 1) & mask;
                }
                if (slots[i] == null) {
                    slots[i] = node;
                    owners[i] = part.service();
                    continue;
                }
                Set<ImportedService> all = collisions.computeIfAbsent(i, k -> new LinkedHashSet<>());
                for (ImportedService owner : new ImportedService[] {owners[i], part.service()}) {
                    if (owner != null) {
                        all.add(owner);
                    }
                }
            }
        }
        return collisions;
    }

    private static boolean sameName(byte[] a, byte[] b) {
        int length = a[0] & 0xFF;
        return length == (b[0] & 0xFF) && Arrays.equals(a, 1, 1 + length, b, 1, 1 + length);
    }

    /** One node for a name several parts hold: the union of their RRsets. */
    private static byte[] merged(byte[] node, Set<ImportedService> owners, Map<Name, Map<Integer, ZoneContent.RRset>> shared,
                                 ZoneSettings settings) {
        Name name;
        try {
            name = new Name(Arrays.copyOfRange(node, 1, 1 + (node[0] & 0xFF)));
        } catch (IOException e) {
            throw new IllegalStateException("a node name that does not parse", e);
        }
        List<Map<Integer, ZoneContent.RRset>> contributions = new ArrayList<>();
        if (shared.containsKey(name)) {
            contributions.add(shared.get(name));
        }
        for (ImportedService owner : owners) {
            Map<Integer, ZoneContent.RRset> own = ZoneContent.service(owner, settings).get(name);
            if (own != null) {
                contributions.add(own);
            }
        }
        Map<Integer, ZoneContent.RRset> union = new LinkedHashMap<>();
        for (Map<Integer, ZoneContent.RRset> rrsets : contributions) {
            rrsets.forEach((type, rrset) -> union.merge(type, rrset, (a, b) -> new ZoneContent.RRset(type,
                    List.copyOf(new LinkedHashSet<>(concat(a.records(), b.records()))),
                    List.copyOf(new LinkedHashSet<>(concat(a.additional(), b.additional()))))));
        }
        return encodeNode(name, union.values(), settings.ttlSeconds());
    }

    private static List<Record> concat(List<Record> a, List<Record> b) {
        List<Record> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    ServiceDirectory source() {
        return source;
    }

    int names() {
        return nodeCount;
    }

    /** The lower-case wire form of every name, for tests to ask about. */
    java.util.List<byte[]> allNames() {
        java.util.List<byte[]> out = new ArrayList<>();
        for (byte[] node : slots) {
            if (node != null) {
                out.add(Arrays.copyOfRange(node, 1, 1 + (node[0] & 0xFF)));
            }
        }
        return out;
    }

    /**
     * Heap bytes this table holds: its arrays with their headers (compressed references), the bookkeeping for the
     * next rebuild included; not the directory itself, which is the gateway's.
     */
    long footprintBytes() {
        long bytes = array(slots.length * 4L) + array(negativeTails.length * 4L);
        for (byte[] node : slots) {
            bytes += node == null ? 0 : array(node.length);
        }
        for (byte[] tail : negativeTails) {
            bytes += tail == null ? 0 : array(tail.length);
        }
        bytes += array(serviceKeys.length * 4L) + array(firstNode.length * 4L) + array(serviceNodes.length * 4L);
        return bytes;
    }

    private static long array(long contentBytes) {
        return (16 + contentBytes + 7) / 8 * 8;
    }

    /** Looks up a name given as lower-case, uncompressed wire bytes {@code name[0, length)}. */
    Hit lookup(byte[] name, int length, int qtype) {
        byte[] node = find(name, length);
        if (node != null) {
            int payload = payloadOffset(node, qtype);
            if (payload >= 0) {
                return new Answer(node, payload);
            }
        }
        if (!isUnderZone(name, length)) {
            return Miss.NOT_OURS;
        }
        return node != null ? Miss.NO_DATA : Miss.NX_DOMAIN;
    }

    /**
     * A whole response: header, the question as the client sent it ({@code question[offset, offset+length)}),
     * what {@code hit} holds, and an OPT when {@code optFlags} is not negative (its DO bit is copied). Past
     * {@code limit} bytes the additional records are left out (RFC 2181 §9 allows that without TC); if it still
     * does not fit, the response is the question alone with TC set, which sends the client to TCP.
     *
     * @param queryFlags the query's flags word; RD and CD are copied
     */
    byte[] respond(Hit hit, int id, int queryFlags, byte[] question, int offset, int length, int nameLength,
                   int optFlags, int limit) {
        int rcode = hit == Miss.NX_DOMAIN ? 3 : 0;
        byte[] source;
        int start;
        int bytes;
        int an = 0;
        int ns = 0;
        int ar = 0;
        switch (hit) {
            case Answer answer -> {
                source = answer.node();
                start = answer.bytesStart();
                bytes = answer.fullLength();
                an = answer.answerCount();
                ar = answer.additionalCount();
                if (responseLength(length, bytes, optFlags) > limit) {
                    bytes = answer.coreLength();
                    ar = 0;
                }
            }
            case Miss.NO_DATA, Miss.NX_DOMAIN -> {
                source = negativeTails[nameLength];
                start = 0;
                bytes = source.length;
                ns = 1;
            }
            case Miss.NOT_OURS -> throw new IllegalArgumentException("not ours to answer");
        }
        int flags = 0x8000 | 0x0400 | (queryFlags & 0x0110) | rcode; // QR, AA, RD and CD as asked
        if (responseLength(length, bytes, optFlags) > limit) {
            flags |= 0x0200; // TC
            bytes = 0;
            an = ns = ar = 0;
        }
        byte[] out = new byte[responseLength(length, bytes, optFlags)];
        ByteBuffer buffer = ByteBuffer.wrap(out);
        buffer.putShort((short) id).putShort((short) flags).putShort((short) 1).putShort((short) an)
                .putShort((short) ns).putShort((short) (ar + (optFlags >= 0 ? 1 : 0)));
        buffer.put(question, offset, length).put(source, start, bytes);
        if (optFlags >= 0) {
            // Root owner, type OPT, our UDP size as class, extended rcode 0, version 0, the DO bit, no options.
            buffer.put((byte) 0).putShort((short) Type.OPT).putShort((short) QueryProcessor.ADVERTISED_UDP_PAYLOAD)
                    .put((byte) 0).put((byte) 0).putShort((short) (optFlags & 0x8000)).putShort((short) 0);
        }
        return out;
    }

    private static int responseLength(int questionLength, int recordBytes, int optFlags) {
        return HEADER + questionLength + recordBytes + (optFlags >= 0 ? OPT_LENGTH : 0);
    }

    private boolean isUnderZone(byte[] name, int length) {
        for (int at = 0; at < length; at += 1 + (name[at] & 0xFF)) {
            if (length - at == zoneWire.length) {
                return Arrays.equals(name, at, length, zoneWire, 0, zoneWire.length);
            }
        }
        return false;
    }

    private byte[] find(byte[] name, int length) {
        int mask = slots.length - 1;
        for (int i = hash(name, 0, length) & mask; ; i = (i + 1) & mask) {
            byte[] node = slots[i];
            if (node == null) {
                return null;
            }
            if ((node[0] & 0xFF) == length && Arrays.equals(node, 1, 1 + length, name, 0, length)) {
                return node;
            }
        }
    }

    private static int hash(byte[] bytes, int from, int length) {
        int h = 0x811C9DC5; // FNV-1a
        for (int i = from; i < from + length; i++) {
            h = (h ^ (bytes[i] & 0xFF)) * 0x01000193;
        }
        return h ^ (h >>> 16);
    }

    /** Where {@code qtype}'s payload starts in {@code node}, or -1. */
    private static int payloadOffset(byte[] node, int qtype) {
        int entries = 2 + (node[0] & 0xFF);
        int count = node[entries - 1] & 0xFF;
        for (int e = 0; e < count; e++) {
            int at = entries + e * ENTRY;
            if (u16(node, at) == qtype) {
                return i32(node, at + 2);
            }
        }
        return -1;
    }

    private static byte[] encodeNode(Name name, Collection<ZoneContent.RRset> rrsets, long ttl) {
        byte[] key = name.toWireCanonical();
        List<Integer> types = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        for (ZoneContent.RRset rrset : rrsets) {
            types.add(rrset.type());
            payloads.add(encodePayload(name, rrset.type(), rrset.records(), rrset.additional()));
        }
        int anyIndex = anyAnswer(name, types, payloads);
        if (anyIndex == payloads.size()) {
            payloads.add(encodePayload(name, Type.ANY,
                    List.of(new HINFORecord(name, DClass.IN, ttl, "RFC8482", "")), List.of()));
        }
        int count = types.size() + (rrsets.isEmpty() ? 0 : 1);
        int payloadBytes = payloads.stream().mapToInt(p -> p.length).sum();
        ByteBuffer node = ByteBuffer.allocate(2 + key.length + count * ENTRY + payloadBytes);
        node.put((byte) key.length).put(key).put((byte) count);
        int[] offsets = new int[payloads.size()];
        int next = node.position() + count * ENTRY;
        for (int i = 0; i < payloads.size(); i++) {
            offsets[i] = next;
            next += payloads.get(i).length;
        }
        for (int i = 0; i < types.size(); i++) {
            node.putShort(types.get(i).shortValue()).putInt(offsets[i]);
        }
        if (!rrsets.isEmpty()) {
            node.putShort((short) Type.ANY).putInt(offsets[anyIndex]);
        }
        payloads.forEach(node::put);
        return node.array();
    }

    /**
     * Which payload answers ANY (RFC 8482): the preferred RRset, if a response with it fits a plain 512-byte UDP
     * message, else {@code payloads.size()}, meaning a synthesized HINFO, so ANY never amplifies.
     */
    private static int anyAnswer(Name name, List<Integer> types, List<byte[]> payloads) {
        for (int preferred : ANY_PREFERENCE) {
            int i = types.indexOf(preferred);
            if (i >= 0) {
                boolean fits = HEADER + name.length() + 4 + u16(payloads.get(i), 4) + OPT_LENGTH <= PLAIN_UDP;
                return fits ? i : payloads.size();
            }
        }
        return types.isEmpty() ? -1 : payloads.size();
    }

    private static byte[] encodePayload(Name name, int qtype, List<Record> records, List<Record> additional) {
        int questionEnd = HEADER + name.length() + 4;
        int room = MAX_MESSAGE - questionEnd - OPT_LENGTH;
        List<Record> answer = records;
        byte[] core = encode(name, qtype, answer, List.of());
        while (core.length - questionEnd > room) {
            // More records than one message can carry (a headless service with thousands of endpoints): keep the
            // first ones, as any DNS server must.
            int keep = Math.max(1, (int) ((long) answer.size() * room / (core.length - questionEnd)) - 1);
            log.warn("dns: {} {} has {} records, more than a DNS message holds; answering with the first {}",
                    name, Type.string(qtype), records.size(), keep);
            answer = answer.subList(0, keep);
            core = encode(name, qtype, answer, List.of());
        }
        byte[] full = core;
        int additionalCount = 0;
        if (!additional.isEmpty()) {
            byte[] withAdditional = encode(name, qtype, answer, additional);
            // Compression is deterministic, so the answer part is the same; the check keeps a wrong guess harmless.
            boolean samePrefix = Arrays.equals(core, questionEnd, core.length, withAdditional, questionEnd, core.length);
            if (samePrefix && withAdditional.length - questionEnd <= room) {
                full = withAdditional;
                additionalCount = additional.size();
            }
        }
        int coreLength = core.length - questionEnd;
        int fullLength = full.length - questionEnd;
        ByteBuffer payload = ByteBuffer.allocate(PAYLOAD_HEADER + fullLength);
        payload.putShort((short) answer.size()).putShort((short) additionalCount).putShort((short) coreLength)
                .putShort((short) fullLength)
                .put(full, questionEnd, fullLength);
        return payload.array();
    }

    private static byte[] encode(Name name, int qtype, List<Record> answer, List<Record> additional) {
        Message message = new Message(0);
        message.addRecord(Record.newRecord(name, qtype, DClass.IN), Section.QUESTION);
        answer.forEach(r -> message.addRecord(r, Section.ANSWER));
        additional.forEach(r -> message.addRecord(r, Section.ADDITIONAL));
        return message.toWire();
    }

    /**
     * The SOA authority record for every question length a name under the zone can have. It is encoded after a
     * stand-in question of that length ending in the zone, so its names point at the zone's labels in the question,
     * which sit at the same offset in any question of that length.
     */
    private static byte[][] negativeTails(SOARecord soa) {
        Name zone = soa.getName();
        byte[][] tails = new byte[MAX_NAME + 1][];
        for (int length = zone.length(); length <= MAX_NAME; length++) {
            Name standIn = standIn(zone, length - zone.length());
            if (standIn == null) {
                continue;
            }
            Message message = new Message(0);
            message.addRecord(Record.newRecord(standIn, Type.A, DClass.IN), Section.QUESTION);
            message.addRecord(soa, Section.AUTHORITY);
            byte[] wire = message.toWire();
            int questionEnd = HEADER + length + 4;
            tails[length] = Arrays.copyOfRange(wire, questionEnd, wire.length);
        }
        return tails;
    }

    /** A name of {@code extra} more wire bytes than the zone, made of 'x' labels; null when none has that length. */
    private static Name standIn(Name zone, int extra) {
        if (extra == 1) {
            return null; // a label costs at least two bytes
        }
        List<String> labels = new ArrayList<>();
        for (int left = extra; left > 0; ) {
            int label = Math.min(63, left - 1);
            if (left - (label + 1) == 1) {
                label--; // leave room for one more label of at least one byte
            }
            labels.add("x".repeat(label));
            left -= label + 1;
        }
        try {
            return labels.isEmpty() ? zone : Name.fromString(String.join(".", labels), zone);
        } catch (TextParseException e) {
            throw new IllegalStateException("a stand-in name of " + extra + " bytes under " + zone, e);
        }
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) << 8 | b[at + 1] & 0xFF;
    }

    static int i32(byte[] b, int at) {
        return (b[at] & 0xFF) << 24 | (b[at + 1] & 0xFF) << 16 | (b[at + 2] & 0xFF) << 8 | b[at + 3] & 0xFF;
    }
}
