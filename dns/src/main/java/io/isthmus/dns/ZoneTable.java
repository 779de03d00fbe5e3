package io.isthmus.dns;

import io.isthmus.api.ImportedService;
import io.isthmus.api.PersistentSortedMap;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
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
 * The zone of one directory as ready-made response bytes, so answering is a lookup and a copy. Built once per
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
final class ZoneTable {
    private static final Logger log = LoggerFactory.getLogger(ZoneTable.class);
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
    private final ZoneSettings settings;
    private final byte[] zoneWire;
    private final NameTrie names;
    /** The SOA record for a negative answer, by the wire length of the question's name; null where impossible. */
    private final byte[][] negativeTails;
    /** How many services have names in each namespace: a namespace with some has its empty non-terminal. */
    private final PersistentSortedMap<String, Integer> namespaces;

    private ZoneTable(ServiceDirectory source, ZoneSettings settings, byte[] zoneWire, NameTrie names,
                      byte[][] negativeTails, PersistentSortedMap<String, Integer> namespaces) {
        this.source = source;
        this.settings = settings;
        this.zoneWire = zoneWire;
        this.names = names;
        this.negativeTails = negativeTails;
        this.namespaces = namespaces;
    }

    static ZoneTable build(ServiceDirectory directory, ZoneSettings settings) {
        return build(directory, settings, null);
    }

    /**
     * The table of {@code directory}, made from {@code previous} (a table built with the same settings, or null)
     * by encoding again only the services that differ between the two directories; every other name is shared
     * with {@code previous}. Directories of one lineage tell what differs in O(changes × log n)
     * ({@link ServiceDirectory#diff}), so a snapshot that changes a few services costs a few services' encoding,
     * whatever the size of the zone. Without a previous table, every service is new.
     */
    static ZoneTable build(ServiceDirectory directory, ZoneSettings settings, ZoneTable previous) {
        ZoneTable base = previous != null && previous.settings.equals(settings) ? previous : empty(settings);
        Update update = new Update(base, directory);
        ServiceDirectory.diff(base.source, directory, (key, before, after) -> {
            if (before == null || after == null || !before.equals(after)) {
                update.replace(key, before, after);
            }
        });
        return update.finish();
    }

    private static ZoneTable empty(ZoneSettings settings) {
        return new ZoneTable(ServiceDirectory.EMPTY, settings, settings.zone().toWireCanonical(), NameTrie.EMPTY, null,
                PersistentSortedMap.empty());
    }

    /**
     * One table being made from another. Names at or below a service's own name belong to that service alone;
     * every other name a service brings (its PTR names) is kept as a {@link NameTrie.Shared} leaf that knows the
     * services holding it, so that two services with one ClusterSetIP share one PTR node, merged. The zone's own
     * names (apex, {@code svc}, namespaces) are placed last, when the namespaces in use are known.
     */
    private static final class Update {
        private final ZoneTable base;
        private final ServiceDirectory directory;
        private final ZoneSettings settings;
        private final Map<Name, Map<Integer, ZoneContent.RRset>> apex;
        private NameTrie names;
        private PersistentSortedMap<String, Integer> namespaces;
        private final Set<String> namespacesTouched = new TreeSet<>();
        private final Map<ServiceKey, Map<Name, Map<Integer, ZoneContent.RRset>>> otherOwners = new HashMap<>();

        Update(ZoneTable base, ServiceDirectory directory) {
            this.base = base;
            this.directory = directory;
            this.settings = base.settings;
            this.apex = ZoneContent.apex(directory.version(), settings);
            this.names = base.names;
            this.namespaces = base.namespaces;
        }

        /** Takes out the names of {@code before} and puts in those of {@code after} (either may be null). */
        void replace(ServiceKey key, ImportedService before, ImportedService after) {
            Map<Name, Map<Integer, ZoneContent.RRset>> old = before == null ? Map.of() : ZoneContent.service(before, settings);
            Map<Name, Map<Integer, ZoneContent.RRset>> now = after == null ? Map.of() : ZoneContent.service(after, settings);
            Name own = ZoneContent.serviceName(key, settings);
            for (Name name : old.keySet()) {
                if (!now.containsKey(name)) {
                    if (own != null && name.subdomain(own)) {
                        byte[] wire = name.toWireCanonical();
                        names = names.remove(wire, wire.length);
                    } else {
                        withoutOwner(name, key);
                    }
                }
            }
            for (Map.Entry<Name, Map<Integer, ZoneContent.RRset>> entry : now.entrySet()) {
                Name name = entry.getKey();
                if (own != null && name.subdomain(own)) {
                    if (!entry.getValue().equals(old.get(name))) {
                        names = names.put(encodeNode(name, entry.getValue().values(), settings.ttlSeconds()));
                    }
                } else if (!entry.getValue().equals(old.get(name))) {
                    withOwner(name, key, entry.getValue());
                }
            }
            if (old.isEmpty() != now.isEmpty()) {
                String namespace = key.namespace();
                int count = namespaces.get(namespace) == null ? 0 : namespaces.get(namespace);
                count += now.isEmpty() ? -1 : 1;
                namespaces = count == 0 ? namespaces.without(namespace) : namespaces.with(namespace, count);
                namespacesTouched.add(namespace);
            }
        }

        private void withOwner(Name name, ServiceKey key, Map<Integer, ZoneContent.RRset> rrsets) {
            ServiceKey[] owners = ownersOf(name);
            int at = Arrays.binarySearch(owners, key);
            if (at < 0) {
                ServiceKey[] more = new ServiceKey[owners.length + 1];
                int insert = -at - 1;
                System.arraycopy(owners, 0, more, 0, insert);
                more[insert] = key;
                System.arraycopy(owners, insert, more, insert + 1, owners.length - insert);
                owners = more;
            }
            place(name, owners, key, rrsets);
        }

        private void withoutOwner(Name name, ServiceKey key) {
            ServiceKey[] owners = ownersOf(name);
            int at = Arrays.binarySearch(owners, key);
            if (at >= 0) {
                ServiceKey[] fewer = new ServiceKey[owners.length - 1];
                System.arraycopy(owners, 0, fewer, 0, at);
                System.arraycopy(owners, at + 1, fewer, at, fewer.length - at);
                owners = fewer;
            }
            place(name, owners, null, null);
        }

        private ServiceKey[] ownersOf(Name name) {
            byte[] wire = name.toWireCanonical();
            return names.find(wire, wire.length) instanceof NameTrie.Shared shared ? shared.owners() : NO_OWNERS;
        }

        /**
         * Puts the node of a name that is not one service's own: the union of what the zone itself and each of
         * {@code owners} has there (the zone first, then the services in key order), or removes it when nobody
         * has anything. {@code key}'s contribution is {@code rrsets}; the other owners' come from the directory.
         */
        private void place(Name name, ServiceKey[] owners, ServiceKey key, Map<Integer, ZoneContent.RRset> rrsets) {
            List<Map<Integer, ZoneContent.RRset>> contributions = new ArrayList<>();
            Map<Integer, ZoneContent.RRset> zoneOwn = zoneContribution(name);
            if (zoneOwn != null) {
                contributions.add(zoneOwn);
            }
            for (ServiceKey owner : owners) {
                Map<Integer, ZoneContent.RRset> own = owner.equals(key) ? rrsets : contentOf(owner).get(name);
                if (own != null) {
                    contributions.add(own);
                }
            }
            byte[] wire = name.toWireCanonical();
            if (owners.length == 0 && zoneOwn == null) {
                names = names.remove(wire, wire.length);
                return;
            }
            byte[] node = encodeNode(name, union(contributions).values(), settings.ttlSeconds());
            names = names.put(owners.length == 0 ? node : new NameTrie.Shared(node, owners));
        }

        /**
         * The names another owner of a shared name brings, made once per update: a headless service whose pods
         * are in another service too shares one PTR name per pod with it, and each would make them again.
         */
        private Map<Name, Map<Integer, ZoneContent.RRset>> contentOf(ServiceKey owner) {
            return otherOwners.computeIfAbsent(owner, k -> directory.find(k)
                    .map(service -> ZoneContent.service(service, settings)).orElse(Map.of()));
        }

        /** What the zone itself has at {@code name}: apex names, {@code svc}, namespaces in use; else null. */
        private Map<Integer, ZoneContent.RRset> zoneContribution(Name name) {
            Map<Integer, ZoneContent.RRset> atApex = apex.get(name);
            if (atApex != null) {
                return atApex;
            }
            if (namespaces.isEmpty() || !name.subdomain(settings.zone())) {
                return null;
            }
            int below = name.labels() - settings.zone().labels();
            if (below < 1 || below > 2 || !name.getLabelString(below - 1).equals("svc")) {
                return null;
            }
            if (below == 1) {
                return Map.of();
            }
            return namespaces.get(name.getLabelString(0)) != null ? Map.of() : null;
        }

        /** The zone's own names placed again (the apex has a new serial), and the table. */
        ZoneTable finish() {
            Set<Name> zoneNames = new LinkedHashSet<>(apex.keySet());
            boolean hadNamespaces = !base.namespaces.isEmpty();
            if (hadNamespaces != !namespaces.isEmpty() || !namespacesTouched.isEmpty()) {
                zoneNames.addAll(ZoneContent.namespaces(namespacesTouched, settings).keySet());
            }
            for (Name name : zoneNames) {
                place(name, ownersOf(name), null, null);
            }
            byte[][] tails = base.negativeTails == null
                    ? negativeTails(ZoneContent.soa(directory.version(), settings))
                    : base.source.version() == directory.version() ? base.negativeTails
                    : withSerial(base.negativeTails, directory.version());
            return new ZoneTable(directory, settings, base.zoneWire, names, tails, namespaces);
        }
    }

    private static final ServiceKey[] NO_OWNERS = new ServiceKey[0];

    /** One name's RRsets from several contributions: records of one type joined, without repeats, in order. */
    private static Map<Integer, ZoneContent.RRset> union(List<Map<Integer, ZoneContent.RRset>> contributions) {
        if (contributions.size() == 1) {
            return contributions.getFirst();
        }
        Map<Integer, ZoneContent.RRset> union = new LinkedHashMap<>();
        for (Map<Integer, ZoneContent.RRset> rrsets : contributions) {
            rrsets.forEach((type, rrset) -> union.merge(type, rrset, (a, b) -> new ZoneContent.RRset(type,
                    List.copyOf(new LinkedHashSet<>(concat(a.records(), b.records()))),
                    List.copyOf(new LinkedHashSet<>(concat(a.additional(), b.additional()))))));
        }
        return union;
    }

    /**
     * The negative tails with another SOA serial: the serial is the first of the five 32-bit numbers that end the
     * SOA record, and so every tail.
     */
    private static byte[][] withSerial(byte[][] tails, long version) {
        byte[][] out = new byte[tails.length][];
        for (int i = 0; i < tails.length; i++) {
            if (tails[i] != null) {
                byte[] tail = tails[i].clone();
                ByteBuffer.wrap(tail).putInt(tail.length - 20, (int) (version & 0xFFFF_FFFFL));
                out[i] = tail;
            }
        }
        return out;
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
        return names.size();
    }

    /** Every leaf of the table (a node, or a shared name with its node), for tests. */
    void forEachLeaf(java.util.function.Consumer<Object> action) {
        names.forEach(action);
    }

    /**
     * Heap bytes this table holds: its nodes, the trie over them and the negative tails, with their headers
     * (compressed references); not the directory itself, which is the gateway's.
     */
    long footprintBytes() {
        long[] bytes = {names.structureBytes() + array(negativeTails.length * 4L)};
        names.forEach(leaf -> bytes[0] += array(NameTrie.nodeOf(leaf).length));
        for (byte[] tail : negativeTails) {
            bytes[0] += tail == null ? 0 : array(tail.length);
        }
        bytes[0] += namespaces.size() * 48L; // a tree node, a boxed count; the namespace strings are the services'
        return bytes[0];
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
        return names.findNode(name, length);
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
