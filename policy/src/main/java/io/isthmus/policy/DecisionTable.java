package io.isthmus.policy;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Policies and an identity view compiled for the data path (README, "The compiler"). Every address falls in one
 * <em>class</em> (found by binary search over disjoint address intervals, the same answer a longest-prefix match
 * over the view's entries and the policies' CIDRs gives); each class has four bitsets over the rules: the egress
 * rules of the policies that apply to it, the egress rules whose peers select it, and the same two for ingress. A
 * side is decided by the first set bit of (applies to the source) AND (peers select the destination), for egress,
 * whose ports match; ingress likewise the other way round. {@link #decide} allocates nothing.
 *
 * <p>Immutable apart from its {@link #counters()} and {@link #log()}; a new view of identities over the same
 * policies is compiled with {@link #withIdentities}, which keeps the counters and reuses what it can.
 */
public final class DecisionTable {
    private final Program program;
    private final CrossClusterDefault fallback;
    private final IdentityView view;
    private final RuleCounters counters;
    private final DecisionLog log;
    private final long compileNanos;

    private final int[] v4Starts;   // unsigned, ascending, v4Starts[0] == 0
    private final int[] v4Classes;
    private final long[] v6High;    // (high, low) unsigned, ascending, first (0, 0)
    private final long[] v6Low;
    private final int[] v6Classes;

    private final int[] classCluster;       // index into clusters, -1 outside the clusterset
    private final boolean[] classExported;  // backs an exported service
    private final boolean[] classEncrypted; // protected by a policy with encryption Required
    private final int[] egressApplies;      // offsets into egressRows
    private final int[] egressSelected;
    private final int[] ingressApplies;     // offsets into ingressRows
    private final int[] ingressSelected;
    private final long[] egressRows;
    private final long[] ingressRows;
    // the words of each class's applies rows that are not zero, so a side scans only those (policies are few per class)
    private final int[] egressWordsFrom;    // egressWords[egressWordsFrom[c]..egressWordsTo[c]]
    private final int[] egressWordsTo;
    private final int[] egressWords;
    private final int[] ingressWordsFrom;
    private final int[] ingressWordsTo;
    private final int[] ingressWords;
    private final Map<Identity, int[]> identityPeers; // peers (without cidrs) selecting each identity, for reuse
    private final SortedMap<Cidr, Integer> prefixClasses;

    private DecisionTable(Program program, CrossClusterDefault fallback, IdentityView view, RuleCounters counters,
                          DecisionLog log, Map<Identity, int[]> reusable) {
        long started = System.nanoTime();
        this.program = program;
        this.fallback = fallback;
        this.view = view;
        this.counters = counters;
        this.log = log;
        Layout layout = new Layout(program, view, reusable);
        this.v4Starts = layout.v4Starts;
        this.v4Classes = layout.v4Classes;
        this.v6High = layout.v6High;
        this.v6Low = layout.v6Low;
        this.v6Classes = layout.v6Classes;
        this.classCluster = layout.classCluster.stream().mapToInt(Integer::intValue).toArray();
        this.classExported = new boolean[classCluster.length];
        this.classEncrypted = new boolean[classCluster.length];
        for (int c = 0; c < classExported.length; c++) {
            classExported[c] = layout.classExported.get(c);
            classEncrypted[c] = layout.classEncrypted.get(c);
        }
        this.egressApplies = layout.egressApplies.stream().mapToInt(Integer::intValue).toArray();
        this.egressSelected = layout.egressSelected.stream().mapToInt(Integer::intValue).toArray();
        this.ingressApplies = layout.ingressApplies.stream().mapToInt(Integer::intValue).toArray();
        this.ingressSelected = layout.ingressSelected.stream().mapToInt(Integer::intValue).toArray();
        this.egressRows = layout.egressRows.toArray();
        this.ingressRows = layout.ingressRows.toArray();
        this.egressWords = layout.egressRows.nonZeroWords();
        this.ingressWords = layout.ingressRows.nonZeroWords();
        int classes = egressApplies.length;
        this.egressWordsFrom = new int[classes];
        this.egressWordsTo = new int[classes];
        this.ingressWordsFrom = new int[classes];
        this.ingressWordsTo = new int[classes];
        for (int c = 0; c < classes; c++) {
            egressWordsFrom[c] = layout.egressRows.nonZeroFrom(egressApplies[c]);
            egressWordsTo[c] = layout.egressRows.nonZeroTo(egressApplies[c]);
            ingressWordsFrom[c] = layout.ingressRows.nonZeroFrom(ingressApplies[c]);
            ingressWordsTo[c] = layout.ingressRows.nonZeroTo(ingressApplies[c]);
        }
        this.identityPeers = Map.copyOf(layout.identityPeers);
        this.prefixClasses = Collections.unmodifiableSortedMap(layout.prefixClasses);
        this.compileNanos = System.nanoTime() - started + program.compileNanos;
    }

    /** Compiles the policies in force in {@code book}; the table's policy version is the book's. */
    public static DecisionTable compile(PolicyBook book, CrossClusterDefault fallback, IdentityView view) {
        return compile(book.version(), book.policies(), fallback, view);
    }

    /**
     * Compiles {@code policies} (any order: they are taken in {@link Policy#ORDER}; names must be distinct) against
     * {@code view}. {@code policyVersion} names them in {@link #describe()} (a {@link PolicyBook#version()}).
     */
    public static DecisionTable compile(String policyVersion, List<Policy> policies, CrossClusterDefault fallback,
                                        IdentityView view) {
        return compile(policyVersion, policies, fallback, view, PortIndex.MAX_ENTRIES);
    }

    /** As {@link #compile(String, List, CrossClusterDefault, IdentityView)}, with a budget for the port index (tests). */
    static DecisionTable compile(String policyVersion, List<Policy> policies, CrossClusterDefault fallback,
                                 IdentityView view, int portIndexBudget) {
        Program program = new Program(policyVersion, policies, portIndexBudget);
        return new DecisionTable(program, fallback, view, new RuleCounters(program.rules.size()),
                new DecisionLog(1024, 1024), Map.of());
    }

    /** Compiles {@code policies}, versioned by their count and a digest of their canonical form. */
    public static DecisionTable compile(List<Policy> policies, CrossClusterDefault fallback, IdentityView view) {
        return compile(digest(policies), policies, fallback, view);
    }

    /**
     * The same policies over a new view: the policy side is not compiled again, identities seen before are not
     * matched again, and the counters and the log carry on.
     */
    public DecisionTable withIdentities(IdentityView next) {
        return new DecisionTable(program, fallback, next, counters, log, identityPeers);
    }

    /** The same policies and identities, a new decision log ({@code every} 1: log every decision). */
    public DecisionTable withLog(DecisionLog next) {
        return new DecisionTable(program, fallback, view, counters, next, identityPeers);
    }

    // ---- evaluation -------------------------------------------------------------------------------------------

    /**
     * Decides one flow, reading the addresses from {@code bytes} (4 bytes each for {@code version} 4, 16 for 6).
     * {@code protocol} is the IP protocol number, {@code port} the destination port or {@link Flow#NO_PORT}.
     * Returns a {@link Decision}. Allocates nothing.
     */
    public long decide(int version, byte[] bytes, int sourceAt, int destinationAt, int protocol, int port) {
        int source = classOf(version, bytes, sourceAt);
        int destination = classOf(version, bytes, destinationAt);
        return decideClasses(source, destination, protocol, port);
    }

    /** Decides {@code flow} (allocates: for explanations and tests). */
    public long decide(Flow flow) {
        byte[] source = flow.source().getAddress();
        byte[] both = Arrays.copyOf(source, source.length * 2);
        System.arraycopy(flow.destination().getAddress(), 0, both, source.length, source.length);
        return decide(source.length == 4 ? 4 : 6, both, 0, source.length, flow.protocol(), flow.port());
    }

    private long decideClasses(int source, int destination, int protocol, int port) {
        int egress = firstMatch(program.egress, egressRows, egressWords, egressWordsFrom[source],
                egressWordsTo[source], egressApplies[source], egressSelected[destination], protocol, port);
        int ingress = firstMatch(program.ingress, ingressRows, ingressWords, ingressWordsFrom[destination],
                ingressWordsTo[destination], ingressApplies[destination], ingressSelected[source], protocol, port);
        int fallbackOutcome = egress < 0 || ingress < 0 ? defaultOutcome(source, destination) : -1;
        int egressOutcome = egress < 0 ? fallbackOutcome
                : program.egress.allow[egress] ? Decision.RULE_ALLOW : Decision.RULE_DENY;
        int ingressOutcome = ingress < 0 ? fallbackOutcome
                : program.ingress.allow[ingress] ? Decision.RULE_ALLOW : Decision.RULE_DENY;
        // encryption Required: no rule lets a protected workload talk with an address outside the clusterset
        if (classEncrypted[source] && classCluster[destination] < 0) {
            egressOutcome = Decision.ENCRYPTION_REQUIRED;
            egress = -1;
        }
        if (classEncrypted[destination] && classCluster[source] < 0) {
            ingressOutcome = Decision.ENCRYPTION_REQUIRED;
            ingress = -1;
        }
        return Decision.of(egressOutcome, egress < 0 ? -1 : program.egress.global[egress],
                ingressOutcome, ingress < 0 ? -1 : program.ingress.global[ingress]);
    }

    private static int firstMatch(Side side, long[] rows, int[] words, int wordsFrom, int wordsTo, int applies,
                                  int selected, int protocol, int port) {
        PortIndex index = port < 0 ? null : side.portIndex(protocol);
        if (index == null && port >= 0 && side.indexed(protocol)) {
            return firstMatchCheckingPorts(side, rows, words, wordsFrom, wordsTo, applies, selected, protocol, port);
        }
        // Without a port (ICMP, a later fragment) or for a protocol without ports only rules without ports match;
        // otherwise the rules without ports, and those the index lists for the port's interval.
        int at = 0;
        int end = 0;
        if (index != null) {
            int interval = index.intervalOf(port);
            at = index.from[interval];
            end = index.from[interval + 1];
        }
        for (int w = wordsFrom; w < wordsTo; w++) { // the applies row's non-zero words, ascending
            int word = words[w];
            long candidates = rows[applies + word] & rows[selected + word];
            if (candidates == 0) {
                continue;
            }
            long ports = side.anyPort[word];
            while (at < end && index.word[at] < word) {
                at++;
            }
            if (at < end && index.word[at] == word) {
                ports |= index.bits[at];
            }
            candidates &= ports;
            if (candidates != 0) {
                return word << 6 | Long.numberOfTrailingZeros(candidates);
            }
        }
        return -1;
    }

    /** The protocol's ranges overlap too much to index: each candidate's ports are compared one by one. */
    private static int firstMatchCheckingPorts(Side side, long[] rows, int[] words, int wordsFrom, int wordsTo,
                                               int applies, int selected, int protocol, int port) {
        for (int w = wordsFrom; w < wordsTo; w++) {
            int word = words[w];
            long candidates = rows[applies + word] & rows[selected + word];
            while (candidates != 0) {
                int rule = word << 6 | Long.numberOfTrailingZeros(candidates);
                if (side.portsMatch(rule, protocol, port)) {
                    return rule;
                }
                candidates &= candidates - 1;
            }
        }
        return -1;
    }

    private int defaultOutcome(int source, int destination) {
        if (classCluster[source] >= 0 && classCluster[source] == classCluster[destination]) {
            return Decision.DEFAULT_SAME_CLUSTER;
        }
        return switch (fallback) {
            case ALLOW -> Decision.DEFAULT_ALLOW;
            case DENY -> Decision.DEFAULT_DENY;
            case SAME_CLUSTER_ONLY -> classExported[destination]
                    ? Decision.DEFAULT_EXPORTED_SERVICE : Decision.DEFAULT_NOT_EXPORTED;
        };
    }

    /** The class of the address at {@code bytes[at]}. */
    int classOf(int version, byte[] bytes, int at) {
        if (version == 4) {
            int address = (bytes[at] & 0xFF) << 24 | (bytes[at + 1] & 0xFF) << 16 | (bytes[at + 2] & 0xFF) << 8
                    | bytes[at + 3] & 0xFF;
            int low = 0;
            int high = v4Starts.length - 1;
            while (low < high) { // the last start <= address
                int mid = (low + high + 1) >>> 1;
                if (Integer.compareUnsigned(v4Starts[mid], address) <= 0) {
                    low = mid;
                } else {
                    high = mid - 1;
                }
            }
            return v4Classes[low];
        }
        long addressHigh = readLong(bytes, at);
        long addressLow = readLong(bytes, at + 8);
        int low = 0;
        int high = v6High.length - 1;
        while (low < high) {
            int mid = (low + high + 1) >>> 1;
            int c = Long.compareUnsigned(v6High[mid], addressHigh);
            if (c < 0 || c == 0 && Long.compareUnsigned(v6Low[mid], addressLow) <= 0) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        return v6Classes[low];
    }

    private static long readLong(byte[] bytes, int at) {
        long value = 0;
        for (int i = 0; i < 8; i++) {
            value = value << 8 | bytes[at + i] & 0xFF;
        }
        return value;
    }

    // ---- what the table holds -------------------------------------------------------------------------------

    /** Every rule, in evaluation order; {@link Decision} rule numbers and counter slots index this list. */
    public List<RuleRef> rules() {
        return program.rules;
    }

    public List<Policy> policies() {
        return program.policies;
    }

    public CrossClusterDefault fallback() {
        return fallback;
    }

    public IdentityView view() {
        return view;
    }

    public RuleCounters counters() {
        return counters;
    }

    public DecisionLog log() {
        return log;
    }

    /** How many address classes the table has (addresses that every rule treats alike share one). */
    public int classes() {
        return classCluster.length;
    }

    /**
     * The same address classes as prefixes, for a longest-prefix-match map (XDP's {@code ist_addr_class}): every
     * network the compiler saw mapped to the class of its innermost part, and {@code 0.0.0.0/0} and {@code ::/0} to
     * the class of the addresses in none. The longest prefix containing an address gives its class.
     */
    public SortedMap<Cidr, Integer> prefixClasses() {
        return prefixClasses;
    }

    /** The class of {@code address} (the interval search; for tests and the XDP loader). */
    public int classOf(InetAddress address) {
        byte[] bytes = address.getAddress();
        return classOf(bytes.length == 4 ? 4 : 6, bytes, 0);
    }

    /** How many disjoint address intervals the lookup searches (IPv4 plus IPv6). */
    public int intervals() {
        return v4Starts.length + v6High.length;
    }

    /** How long compiling took: the policy side (first compile only) and the identity side. */
    public long compileNanos() {
        return compileNanos;
    }

    public String policyVersion() {
        return program.version;
    }

    /** {@code policies 3:9f2c04ab11e0, identities 120:0c1d2e3f4a5b, default deny}. */
    public String version() {
        return "policies " + program.version + ", identities " + view.version() + ", default " + fallback.label();
    }

    /** {@code policy 3:9f2c04ab11e0 (12 rules, default deny)}. */
    public String describe() {
        return "policy " + program.version + " (" + program.rules.size() + " rules, default " + fallback.label()
                + ")";
    }

    @Override
    public String toString() {
        return "DecisionTable " + version();
    }

    // ---- explanation ----------------------------------------------------------------------------------------

    /** Which rule (or default) decided each side of {@code flow}, and why, in words. */
    public Explanation explain(Flow flow) {
        long decision = decide(flow);
        Optional<Identity> source = view.identityOf(flow.source());
        Optional<Identity> destination = view.identityOf(flow.destination());
        Explanation.Side egress = explainSide(RuleRef.Side.EGRESS, Decision.egressOutcome(decision),
                Decision.egressRule(decision), flow.source(), source.orElse(null), flow.destination(),
                destination.orElse(null), flow);
        Explanation.Side ingress = explainSide(RuleRef.Side.INGRESS, Decision.ingressOutcome(decision),
                Decision.ingressRule(decision), flow.destination(), destination.orElse(null), flow.source(),
                source.orElse(null), flow);
        return new Explanation(flow, source, destination, Decision.allowed(decision), decision, egress, ingress);
    }

    private Explanation.Side explainSide(RuleRef.Side side, int outcome, int rule, InetAddress protectedAddress,
                                         Identity protectedIdentity, InetAddress other, Identity otherIdentity,
                                         Flow flow) {
        List<String> applying = new ArrayList<>();
        for (Policy policy : program.policies) {
            if (Selection.selects(policy.appliesTo(), protectedIdentity, protectedAddress)) {
                applying.add(policy.name());
            }
        }
        String otherName = side == RuleRef.Side.EGRESS ? "the destination" : "the source";
        String why;
        if (rule >= 0) {
            RuleRef ref = program.rules.get(rule);
            String peers = "any peer";
            for (int i = 0; i < ref.rule().peers().size(); i++) {
                if (Selection.selects(ref.rule().peers().get(i), otherIdentity, other)) {
                    peers = "peers[" + i + "] selects " + otherName + " " + IpLiteral.format(other);
                    break;
                }
            }
            String ports = ref.rule().ports().isEmpty() ? "any protocol and port"
                    : "its ports include " + Flow.protocolName(flow.protocol()) + "/" + flow.port();
            why = (outcome == Decision.RULE_ALLOW ? "allowed by " : "denied by ") + ref + ": the first matching "
                    + "rule of the policies applying; " + peers + ", " + ports;
            return new Explanation.Side(side, applying, Optional.of(ref), why);
        }
        why = Decision.describe(outcome);
        if (outcome == Decision.ENCRYPTION_REQUIRED) {
            List<String> requiring = program.policies.stream()
                    .filter(p -> p.encryption() == Policy.Encryption.REQUIRED && applying.contains(p.name()))
                    .map(Policy::name).toList();
            why += " (" + String.join(", ", requiring) + " for " + IpLiteral.format(protectedAddress) + "; "
                    + otherName + " " + IpLiteral.format(other) + " is in no cluster)";
        } else if (applying.isEmpty()) {
            why += " (no policy applies to " + IpLiteral.format(protectedAddress) + ")";
        }
        return new Explanation.Side(side, applying, Optional.empty(), why);
    }

    private static String digest(List<Policy> policies) {
        if (policies.isEmpty()) {
            return "0:empty";
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            policies.stream().sorted(Policy.ORDER).forEach(p ->
                    sha.update((PolicyCodec.canonicalJson(p) + "\n").getBytes(StandardCharsets.UTF_8)));
            return policies.size() + ":" + HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    // ---- the policy side, compiled once per set of policies --------------------------------------------------

    /** The rules of one side (egress or ingress) in evaluation order, with their actions and port ranges. */
    static final class Side {
        final int count;
        final int words;
        final int[] global;      // index in rules()
        final boolean[] allow;
        final int[] portsFrom;   // rule r's ranges are portsFrom[r] until portsFrom[r + 1]
        final int[] protocol;
        final int[] first;
        final int[] last;
        final long[] anyPort;    // the rules without ports: they match every flow
        final PortIndex tcp;
        final PortIndex udp;
        final PortIndex sctp;

        Side(List<RuleRef> rules, List<Integer> globals, int portIndexBudget) {
            count = globals.size();
            words = (count + 63) >>> 6;
            global = globals.stream().mapToInt(Integer::intValue).toArray();
            allow = new boolean[count];
            portsFrom = new int[count + 1];
            int ranges = 0;
            for (int r = 0; r < count; r++) {
                ranges += rules.get(global[r]).rule().ports().size();
            }
            protocol = new int[ranges];
            first = new int[ranges];
            last = new int[ranges];
            int at = 0;
            for (int r = 0; r < count; r++) {
                Rule rule = rules.get(global[r]).rule();
                allow[r] = rule.action() == Rule.Action.ALLOW;
                portsFrom[r] = at;
                for (PortRange range : rule.ports()) {
                    protocol[at] = Flow.number(range.protocol());
                    first[at] = range.first();
                    last[at] = range.last();
                    at++;
                }
            }
            portsFrom[count] = at;
            anyPort = new long[words];
            for (int r = 0; r < count; r++) {
                if (portsFrom[r] == portsFrom[r + 1]) {
                    anyPort[r >>> 6] |= 1L << r;
                }
            }
            tcp = PortIndex.build(this, Flow.TCP, portIndexBudget);
            udp = PortIndex.build(this, Flow.UDP, portIndexBudget);
            sctp = PortIndex.build(this, Flow.SCTP, portIndexBudget);
        }

        /** The index of {@code flowProtocol}'s ports, or null (a protocol without ports, or one too costly to index). */
        PortIndex portIndex(int flowProtocol) {
            return switch (flowProtocol) {
                case Flow.TCP -> tcp;
                case Flow.UDP -> udp;
                case Flow.SCTP -> sctp;
                default -> null;
            };
        }

        /** Whether {@code flowProtocol} has ports (TCP, UDP, SCTP): its index is null only when it was too costly. */
        boolean indexed(int flowProtocol) {
            return flowProtocol == Flow.TCP || flowProtocol == Flow.UDP || flowProtocol == Flow.SCTP;
        }

        boolean portsMatch(int rule, int flowProtocol, int port) {
            int from = portsFrom[rule];
            int to = portsFrom[rule + 1];
            if (from == to) {
                return true; // no ports: every protocol, with or without a port
            }
            if (port < 0) {
                return false; // no port to compare (ICMP, a non-first fragment): only rules without ports
            }
            for (int i = from; i < to; i++) {
                if (protocol[i] == flowProtocol && port >= first[i] && port <= last[i]) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * One protocol's port space cut into intervals at every range's edges, each with the rules (of one side) whose
     * ranges of that protocol contain it, as sparse words of the side's rule bitset: a decision ANDs them in instead
     * of comparing each candidate's ranges. Built by a sweep over the edges. When the rules' ranges overlap so much
     * that the index would pass its budget ({@link #MAX_ENTRIES} words), there is none and ports are compared rule by rule.
     */
    static final class PortIndex {
        static final int MAX_ENTRIES = 1 << 22;

        final int[] starts; // ascending, starts[0] == 0
        final int[] from;   // interval i's words are word[from[i]..from[i + 1]]
        final int[] word;
        final long[] bits;

        private PortIndex(int[] starts, int[] from, int[] word, long[] bits) {
            this.starts = starts;
            this.from = from;
            this.word = word;
            this.bits = bits;
        }

        int intervalOf(int port) {
            int at = Arrays.binarySearch(starts, port);
            return at >= 0 ? at : -at - 2;
        }

        static PortIndex build(Side side, int protocol, int budget) {
            java.util.TreeMap<Integer, List<int[]>> edges = new java.util.TreeMap<>(); // port -> (rule, +1 / -1)
            edges.put(0, new ArrayList<>());
            for (int r = 0; r < side.count; r++) {
                for (int i = side.portsFrom[r]; i < side.portsFrom[r + 1]; i++) {
                    if (side.protocol[i] == protocol) {
                        edges.computeIfAbsent(side.first[i], k -> new ArrayList<>()).add(new int[] {r, 1});
                        if (side.last[i] < 65535) {
                            edges.computeIfAbsent(side.last[i] + 1, k -> new ArrayList<>()).add(new int[] {r, -1});
                        }
                    }
                }
            }
            int[] starts = new int[edges.size()];
            int[] from = new int[edges.size() + 1];
            IntList words = new IntList();
            LongList bitsOut = new LongList();
            int[] cover = new int[side.count]; // how many of a rule's ranges contain the interval (ranges may overlap)
            long[] active = new long[side.words];
            java.util.TreeSet<Integer> activeWords = new java.util.TreeSet<>();
            int interval = 0;
            for (Map.Entry<Integer, List<int[]>> edge : edges.entrySet()) {
                for (int[] change : edge.getValue()) {
                    int rule = change[0];
                    cover[rule] += change[1];
                    if (cover[rule] > 0) {
                        active[rule >>> 6] |= 1L << rule;
                        activeWords.add(rule >>> 6);
                    } else {
                        active[rule >>> 6] &= ~(1L << rule);
                        if (active[rule >>> 6] == 0) {
                            activeWords.remove(rule >>> 6);
                        }
                    }
                }
                starts[interval] = edge.getKey();
                from[interval] = words.size();
                if (words.size() + activeWords.size() > budget) {
                    return null;
                }
                for (int w : activeWords) {
                    words.add(w);
                    bitsOut.add(active[w]);
                }
                interval++;
            }
            from[interval] = words.size();
            return new PortIndex(starts, from, words.toArray(), bitsOut.toArray());
        }
    }

    /** A growable int array (the index is built once per compile). */
    private static final class IntList {
        private int[] values = new int[16];
        private int size;

        void add(int value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        int size() {
            return size;
        }

        int[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }

    private static final class LongList {
        private long[] values = new long[16];
        private int size;

        void add(long value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }

    /** The policies flattened: rules numbered, distinct peers and CIDRs indexed, with who uses them. */
    static final class Program {
        final String version;
        final List<Policy> policies;
        final List<RuleRef> rules;
        final Side egress;
        final Side ingress;
        final int[] policyEgressFrom;   // policy p's egress rules are policyEgressFrom[p]..[p + 1]
        final int[] policyIngressFrom;
        final List<Peers> peers;        // distinct, appliesTo and rule peers alike
        final int[][] peersPolicies;    // policies whose appliesTo is this peers
        final int[][] peersEgressRules; // egress rules listing this peers
        final int[][] peersIngressRules;
        final long[] egressAnyPeer;     // egress rules with no peers (select every address)
        final long[] ingressAnyPeer;
        final List<Cidr> cidrs;
        final Map<Cidr, Integer> cidrIndex;
        final int[][] cidrPeers;        // peers listing this CIDR
        final Map<String, int[]> peersByNamespace; // peers without cidrs, by the namespaces they name
        final Map<ClusterId, int[]> peersByCluster; // ... naming no namespace, by their clusters
        final int[] peersUnindexed;                 // ... naming neither
        final long compileNanos;

        Program(String version, List<Policy> given, int portIndexBudget) {
            long started = System.nanoTime();
            this.version = version;
            this.policies = given.stream().sorted(Policy.ORDER).toList();
            Set<String> names = new HashSet<>();
            for (Policy policy : policies) {
                if (!names.add(policy.name())) {
                    throw new InvalidFieldException("metadata.name", policy.name(),
                            "is given twice: policy names are unique in the clusterset");
                }
            }
            List<RuleRef> all = new ArrayList<>();
            List<Integer> egressGlobal = new ArrayList<>();
            List<Integer> ingressGlobal = new ArrayList<>();
            policyEgressFrom = new int[policies.size() + 1];
            policyIngressFrom = new int[policies.size() + 1];
            for (int p = 0; p < policies.size(); p++) {
                Policy policy = policies.get(p);
                policyIngressFrom[p] = ingressGlobal.size();
                for (int i = 0; i < policy.ingress().size(); i++) {
                    ingressGlobal.add(all.size());
                    all.add(new RuleRef(policy.name(), RuleRef.Side.INGRESS, i, policy.ingress().get(i)));
                }
                policyEgressFrom[p] = egressGlobal.size();
                for (int i = 0; i < policy.egress().size(); i++) {
                    egressGlobal.add(all.size());
                    all.add(new RuleRef(policy.name(), RuleRef.Side.EGRESS, i, policy.egress().get(i)));
                }
            }
            policyIngressFrom[policies.size()] = ingressGlobal.size();
            policyEgressFrom[policies.size()] = egressGlobal.size();
            if (all.size() >= 0xFF_FFFF) {
                throw new InvalidFieldException("policies", all.size() + " rules", "at most " + 0xFF_FFFE);
            }
            this.rules = List.copyOf(all);
            this.egress = new Side(rules, egressGlobal, portIndexBudget);
            this.ingress = new Side(rules, ingressGlobal, portIndexBudget);

            Map<Peers, Integer> peerIds = new HashMap<>();
            List<List<Integer>> policiesOf = new ArrayList<>();
            List<List<Integer>> egressOf = new ArrayList<>();
            List<List<Integer>> ingressOf = new ArrayList<>();
            egressAnyPeer = new long[egress.words];
            ingressAnyPeer = new long[ingress.words];
            for (int p = 0; p < policies.size(); p++) {
                policiesOf.get(intern(peerIds, policies.get(p).appliesTo(), policiesOf, egressOf, ingressOf)).add(p);
            }
            collectRulePeers(egress, egressAnyPeer, peerIds, policiesOf, egressOf, ingressOf, egressOf);
            collectRulePeers(ingress, ingressAnyPeer, peerIds, policiesOf, egressOf, ingressOf, ingressOf);
            Peers[] ordered = new Peers[peerIds.size()];
            peerIds.forEach((peer, id) -> ordered[id] = peer);
            this.peers = List.of(ordered);
            this.peersPolicies = toArrays(policiesOf);
            this.peersEgressRules = toArrays(egressOf);
            this.peersIngressRules = toArrays(ingressOf);

            Map<Cidr, Integer> cidrIds = new HashMap<>();
            List<List<Integer>> cidrUsers = new ArrayList<>();
            Map<String, List<Integer>> byNamespace = new HashMap<>();
            Map<ClusterId, List<Integer>> byCluster = new HashMap<>();
            List<Integer> unindexed = new ArrayList<>();
            for (int id = 0; id < ordered.length; id++) {
                Peers peer = ordered[id];
                if (!peer.cidrs().isEmpty()) {
                    for (Cidr cidr : peer.cidrs()) {
                        Integer c = cidrIds.computeIfAbsent(cidr, k -> {
                            cidrUsers.add(new ArrayList<>());
                            return cidrUsers.size() - 1;
                        });
                        cidrUsers.get(c).add(id);
                    }
                } else if (!peer.namespaces().isEmpty()) {
                    for (String namespace : peer.namespaces()) {
                        byNamespace.computeIfAbsent(namespace, k -> new ArrayList<>()).add(id);
                    }
                } else if (!peer.clusters().isEmpty()) {
                    for (ClusterId cluster : peer.clusters()) {
                        byCluster.computeIfAbsent(cluster, k -> new ArrayList<>()).add(id);
                    }
                } else {
                    unindexed.add(id);
                }
            }
            Cidr[] cidrOrder = new Cidr[cidrIds.size()];
            cidrIds.forEach((cidr, id) -> cidrOrder[id] = cidr);
            this.cidrs = List.of(cidrOrder);
            this.cidrIndex = Map.copyOf(cidrIds);
            this.cidrPeers = toArrays(cidrUsers);
            Map<String, int[]> namespaces = new HashMap<>();
            byNamespace.forEach((k, v) -> namespaces.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
            this.peersByNamespace = Map.copyOf(namespaces);
            Map<ClusterId, int[]> clusters = new HashMap<>();
            byCluster.forEach((k, v) -> clusters.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
            this.peersByCluster = Map.copyOf(clusters);
            this.peersUnindexed = unindexed.stream().mapToInt(Integer::intValue).toArray();
            this.compileNanos = System.nanoTime() - started;
        }

        private void collectRulePeers(Side side, long[] anyPeer, Map<Peers, Integer> peerIds,
                                      List<List<Integer>> policiesOf, List<List<Integer>> egressOf,
                                      List<List<Integer>> ingressOf, List<List<Integer>> usesOfSide) {
            for (int r = 0; r < side.count; r++) {
                Rule rule = rules.get(side.global[r]).rule();
                if (rule.peers().isEmpty()) {
                    anyPeer[r >>> 6] |= 1L << r;
                }
                for (Peers peer : rule.peers()) {
                    List<Integer> uses = usesOfSide.get(intern(peerIds, peer, policiesOf, egressOf, ingressOf));
                    if (uses.isEmpty() || uses.getLast() != r) {
                        uses.add(r);
                    }
                }
            }
        }

        private static int intern(Map<Peers, Integer> ids, Peers peer, List<List<Integer>> policiesOf,
                                  List<List<Integer>> egressOf, List<List<Integer>> ingressOf) {
            return ids.computeIfAbsent(peer, k -> {
                policiesOf.add(new ArrayList<>());
                egressOf.add(new ArrayList<>());
                ingressOf.add(new ArrayList<>());
                return policiesOf.size() - 1;
            });
        }

        private static int[][] toArrays(List<List<Integer>> lists) {
            int[][] arrays = new int[lists.size()][];
            for (int i = 0; i < arrays.length; i++) {
                arrays[i] = lists.get(i).stream().mapToInt(Integer::intValue).toArray();
            }
            return arrays;
        }
    }

    // ---- the identity side: address intervals and classes ---------------------------------------------------

    /** One network of the view or of a policy, placed in the nesting of networks. */
    private static final class Node {
        final Cidr cidr;
        final BigInteger start;
        final BigInteger end; // inclusive
        Identity identity;    // the view's entry for exactly this network, or null
        int cidrId = -1;      // the policy CIDR of exactly this network, or -1
        Identity effectiveIdentity; // this or the nearest enclosing view entry
        Node effectiveCidr;         // this or the nearest enclosing policy CIDR
        Node enclosingCidr;         // the nearest policy CIDR strictly enclosing effectiveCidr

        Node(Cidr cidr) {
            this.cidr = cidr;
            this.start = new BigInteger(1, cidr.network().getAddress());
            this.end = start.add(cidr.size()).subtract(BigInteger.ONE);
        }
    }

    private record ClassKey(int egressApplies, int egressSelected, int ingressApplies, int ingressSelected,
                            int cluster, boolean exported, boolean encrypted) {
    }

    private record RowKey(long[] words) {
        @Override
        public boolean equals(Object o) {
            return o instanceof RowKey other && Arrays.equals(words, other.words);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(words);
        }
    }

    /** Builds the intervals and classes of one table. */
    private static final class Layout {
        final Program program;
        final Map<Identity, int[]> reusable;
        final Map<Identity, int[]> identityPeers = new HashMap<>();
        final TreeMap<Cidr, Integer> prefixClasses = new TreeMap<>();
        final Map<ClusterId, Integer> clusters = new HashMap<>();
        final Map<ClassKey, Integer> classIds = new HashMap<>();
        final Map<Object, Integer> classBySignature = new HashMap<>();
        final List<Integer> classCluster = new ArrayList<>();
        final List<Boolean> classExported = new ArrayList<>();
        final List<Boolean> classEncrypted = new ArrayList<>();
        final List<Integer> egressApplies = new ArrayList<>();
        final List<Integer> egressSelected = new ArrayList<>();
        final List<Integer> ingressApplies = new ArrayList<>();
        final List<Integer> ingressSelected = new ArrayList<>();
        final Rows egressRows;
        final Rows ingressRows;
        final int[] seen;     // per peers: the stamp of the class being built that selected it
        int stamp;
        int[] v4Starts;
        int[] v4Classes;
        long[] v6High;
        long[] v6Low;
        int[] v6Classes;

        Layout(Program program, IdentityView view, Map<Identity, int[]> reusable) {
            this.program = program;
            this.reusable = reusable;
            this.egressRows = new Rows(program.egress.words);
            this.ingressRows = new Rows(program.ingress.words);
            this.seen = new int[program.peers.size()];
            List<Node> v4 = new ArrayList<>();
            List<Node> v6 = new ArrayList<>();
            Map<Cidr, Node> nodes = new HashMap<>();
            view.entries().forEach((cidr, identity) -> node(nodes, cidr, v4, v6).identity = identity);
            for (int c = 0; c < program.cidrs.size(); c++) {
                node(nodes, program.cidrs.get(c), v4, v6).cidrId = c;
            }
            List<long[]> intervals4 = sweep(v4, BigInteger.ONE.shiftLeft(32));
            v4Starts = new int[intervals4.size()];
            v4Classes = new int[intervals4.size()];
            for (int i = 0; i < intervals4.size(); i++) {
                v4Starts[i] = (int) intervals4.get(i)[1];
                v4Classes[i] = (int) intervals4.get(i)[2];
            }
            List<long[]> intervals6 = sweep(v6, BigInteger.ONE.shiftLeft(128));
            v6High = new long[intervals6.size()];
            v6Low = new long[intervals6.size()];
            v6Classes = new int[intervals6.size()];
            for (int i = 0; i < intervals6.size(); i++) {
                v6High[i] = intervals6.get(i)[0];
                v6Low[i] = intervals6.get(i)[1];
                v6Classes[i] = (int) intervals6.get(i)[2];
            }
            int outside = classOf(null);
            prefixClasses.put(Cidr.of(ipv4Any(), 0), outside);
            prefixClasses.put(Cidr.of(ipv6Any(), 0), outside);
            for (Node node : nodes.values()) { // after the sweep, which set each node's innermost identity and CIDR
                prefixClasses.put(node.cidr, classOf(node));
            }
        }

        private static InetAddress ipv4Any() {
            return IpLiteral.parse("prefix", "0.0.0.0");
        }

        private static InetAddress ipv6Any() {
            return IpLiteral.parse("prefix", "::");
        }

        private static Node node(Map<Cidr, Node> nodes, Cidr cidr, List<Node> v4, List<Node> v6) {
            return nodes.computeIfAbsent(cidr, k -> {
                Node node = new Node(k);
                (k.isIpv4() ? v4 : v6).add(node);
                return node;
            });
        }

        /**
         * Cuts the address space into intervals, each lying wholly inside or outside every network, with the class
         * of its innermost network; adjacent intervals of one class are merged. Each entry: {start high, start low,
         * class}.
         */
        private List<long[]> sweep(List<Node> nodes, BigInteger spaceEnd) {
            nodes.sort((a, b) -> a.cidr.compareTo(b.cidr)); // by start, enclosing networks first
            List<long[]> out = new ArrayList<>();
            ArrayList<Node> open = new ArrayList<>();
            BigInteger cursor = BigInteger.ZERO;
            for (Node node : nodes) {
                while (!open.isEmpty() && open.getLast().end.compareTo(node.start) < 0) {
                    Node closing = open.removeLast();
                    cursor = emit(out, cursor, closing.end, closing);
                }
                if (cursor.compareTo(node.start) < 0) {
                    cursor = emit(out, cursor, node.start.subtract(BigInteger.ONE), open.isEmpty() ? null : open.getLast());
                }
                Node parent = open.isEmpty() ? null : open.getLast();
                node.effectiveIdentity = node.identity != null ? node.identity
                        : parent == null ? null : parent.effectiveIdentity;
                if (node.cidrId >= 0) {
                    node.effectiveCidr = node;
                    node.enclosingCidr = parent == null ? null : parent.effectiveCidr;
                } else {
                    node.effectiveCidr = parent == null ? null : parent.effectiveCidr;
                }
                open.add(node);
            }
            while (!open.isEmpty()) {
                Node closing = open.removeLast();
                cursor = emit(out, cursor, closing.end, closing);
            }
            if (cursor.compareTo(spaceEnd) < 0) {
                emit(out, cursor, spaceEnd.subtract(BigInteger.ONE), null);
            }
            return out;
        }

        private BigInteger emit(List<long[]> out, BigInteger from, BigInteger to, Node innermost) {
            if (from.compareTo(to) > 0) {
                return from;
            }
            int classId = classOf(innermost);
            if (out.isEmpty() || out.getLast()[2] != classId) {
                out.add(new long[] {from.shiftRight(64).longValue(), from.longValue(), classId});
            }
            return to.add(BigInteger.ONE);
        }

        private int classOf(Node innermost) {
            Identity identity = innermost == null ? null : innermost.effectiveIdentity;
            Node cidrNode = innermost == null ? null : innermost.effectiveCidr;
            Object signature = Arrays.asList(identity, cidrNode == null ? null : cidrNode.cidr);
            Integer known = classBySignature.get(signature);
            if (known != null) {
                return known;
            }
            int classId = buildClass(identity, cidrNode);
            classBySignature.put(signature, classId);
            return classId;
        }

        private int buildClass(Identity identity, Node cidrNode) {
            stamp++;
            List<Integer> selected = new ArrayList<>();
            for (int peer : peersOf(identity)) {
                mark(peer, selected);
            }
            for (Node at = cidrNode; at != null; at = at.enclosingCidr) {
                for (int peer : program.cidrPeers[at.cidrId]) {
                    if (Selection.clusterMatches(program.peers.get(peer), identity)) {
                        mark(peer, selected);
                    }
                }
            }
            long[] eApplies = new long[program.egress.words];
            long[] iApplies = new long[program.ingress.words];
            long[] eSelected = program.egressAnyPeer.clone();
            long[] iSelected = program.ingressAnyPeer.clone();
            boolean encrypted = false;
            for (int peer : selected) {
                for (int policy : program.peersPolicies[peer]) {
                    encrypted |= program.policies.get(policy).encryption() == Policy.Encryption.REQUIRED;
                    setRange(eApplies, program.policyEgressFrom[policy], program.policyEgressFrom[policy + 1]);
                    setRange(iApplies, program.policyIngressFrom[policy], program.policyIngressFrom[policy + 1]);
                }
                for (int rule : program.peersEgressRules[peer]) {
                    eSelected[rule >>> 6] |= 1L << rule;
                }
                for (int rule : program.peersIngressRules[peer]) {
                    iSelected[rule >>> 6] |= 1L << rule;
                }
            }
            int cluster = identity == null ? -1
                    : clusters.computeIfAbsent(identity.cluster(), k -> clusters.size());
            ClassKey key = new ClassKey(egressRows.intern(eApplies), egressRows.intern(eSelected),
                    ingressRows.intern(iApplies), ingressRows.intern(iSelected), cluster,
                    identity != null && !identity.services().isEmpty(), encrypted);
            return classIds.computeIfAbsent(key, k -> {
                classCluster.add(k.cluster());
                classExported.add(k.exported());
                classEncrypted.add(k.encrypted());
                egressApplies.add(k.egressApplies());
                egressSelected.add(k.egressSelected());
                ingressApplies.add(k.ingressApplies());
                ingressSelected.add(k.ingressSelected());
                return classCluster.size() - 1;
            });
        }

        private void mark(int peer, List<Integer> selected) {
            if (seen[peer] != stamp) {
                seen[peer] = stamp;
                selected.add(peer);
            }
        }

        /** The peers without cidrs that select {@code identity}, matched once per distinct identity. */
        private int[] peersOf(Identity identity) {
            if (identity == null) {
                return matching(null, program.peersUnindexed);
            }
            int[] known = identityPeers.get(identity);
            if (known == null) {
                known = reusable.get(identity);
                if (known == null) {
                    List<Integer> found = new ArrayList<>();
                    addMatching(identity, program.peersUnindexed, found);
                    addMatching(identity, program.peersByCluster.getOrDefault(identity.cluster(), new int[0]), found);
                    if (identity.isWorkload()) {
                        addMatching(identity, program.peersByNamespace.getOrDefault(identity.namespace(), new int[0]),
                                found);
                    }
                    known = found.stream().mapToInt(Integer::intValue).toArray();
                }
                identityPeers.put(identity, known);
            }
            return known;
        }

        private int[] matching(Identity identity, int[] candidates) {
            List<Integer> found = new ArrayList<>();
            addMatching(identity, candidates, found);
            return found.stream().mapToInt(Integer::intValue).toArray();
        }

        private void addMatching(Identity identity, int[] candidates, List<Integer> found) {
            for (int peer : candidates) {
                if (Selection.selectsIdentity(program.peers.get(peer), identity)) {
                    found.add(peer);
                }
            }
        }

        private static void setRange(long[] bits, int from, int to) {
            for (int bit = from; bit < to; bit++) {
                bits[bit >>> 6] |= 1L << bit;
            }
        }
    }

    /** Distinct bit rows laid end to end; a row is named by its offset. Keeps each row's non-zero word indices. */
    private static final class Rows {
        final int words;
        final Map<RowKey, Integer> offsets = new HashMap<>();
        final Map<Integer, int[]> nonZeroRange = new HashMap<>(); // offset -> {from, to} in nonZero
        int[] nonZero = new int[64];
        int nonZeroSize;
        long[] data = new long[64];
        int size;

        Rows(int words) {
            this.words = words;
        }

        int intern(long[] row) {
            return offsets.computeIfAbsent(new RowKey(row), k -> {
                int at = size;
                if (at + words > data.length) {
                    data = Arrays.copyOf(data, Math.max(data.length * 2, at + words));
                }
                System.arraycopy(row, 0, data, at, words);
                size += words;
                int from = nonZeroSize;
                for (int w = 0; w < words; w++) {
                    if (row[w] != 0) {
                        if (nonZeroSize == nonZero.length) {
                            nonZero = Arrays.copyOf(nonZero, nonZero.length * 2);
                        }
                        nonZero[nonZeroSize++] = w;
                    }
                }
                nonZeroRange.put(at, new int[] {from, nonZeroSize});
                return at;
            });
        }

        long[] toArray() {
            return Arrays.copyOf(data, Math.max(size, 1));
        }

        int[] nonZeroWords() {
            return Arrays.copyOf(nonZero, nonZeroSize);
        }

        int nonZeroFrom(int offset) {
            return nonZeroRange.get(offset)[0];
        }

        int nonZeroTo(int offset) {
            return nonZeroRange.get(offset)[1];
        }
    }
}
