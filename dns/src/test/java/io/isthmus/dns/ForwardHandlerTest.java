package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The forwarder on its own, against a fake upstream and a fake clock: allow-list, relaying, caching, failures. */
class ForwardHandlerTest {
    private static final InetSocketAddress INSIDE = new InetSocketAddress("10.244.1.5", 40000);
    private static final InetSocketAddress OUTSIDE = new InetSocketAddress("203.0.113.9", 40000);
    private static final Name WWW = Name.fromConstantString("www.example.test.");
    private static final Name ZONE = Name.fromConstantString("example.test.");
    private static final long SECOND = 1_000_000_000L;
    private static final Message PASSED = new Message();

    private final AtomicLong now = new AtomicLong(1_000 * SECOND);
    private final DnsCounters counters = new DnsCounters();
    private final FakeUpstreams upstreams = new FakeUpstreams(
            FakeUpstreams.answering(Rcode.NOERROR, List.of(a(WWW, 300, "192.0.2.10")), List.of()));

    private ForwardHandler handler(Forwarding forwarding) {
        return new ForwardHandler(DnsConfig.DEFAULT_ZONE, forwarding, counters, upstreams, now::get);
    }

    private ForwardHandler handler() {
        return handler(Forwarding.to(List.of(new InetSocketAddress("127.0.0.1", 5300))));
    }

    private static Message ask(ForwardHandler handler, Message query, InetSocketAddress client) {
        return handler.serve(new DnsRequest(query, Transport.UDP, client), request -> PASSED);
    }

    private static Message query(String name, int type) {
        return RawDns.query(0x4242, name, type);
    }

    private static ARecord a(Name owner, long ttl, String ip) {
        return new ARecord(owner, DClass.IN, ttl, Fixtures.ip(ip));
    }

    private static SOARecord soa(long ttl, long minimum) {
        return new SOARecord(ZONE, DClass.IN, ttl, Name.fromConstantString("ns.example.test."),
                Name.fromConstantString("hostmaster.example.test."), 1, 3600, 600, 86400, minimum);
    }

    @Test
    void aClientOffTheAllowListIsRefusedWithoutAskingUpstream() {
        Message reply = ask(handler(), query("www.example.test.", Type.A), OUTSIDE);

        assertEquals(Rcode.REFUSED, reply.getRcode());
        assertEquals(List.of(), upstreams.asked());
        assertEquals(1, counters.snapshot().refusedByAllowList());
    }

    @Test
    void theAllowListIsConfigurable() {
        ForwardHandler onlyDocumentation = handler(Forwarding.to(List.of(new InetSocketAddress("127.0.0.1", 5300)))
                .withAllowedClients(List.of(ClientNetwork.parse("203.0.113.0/24"))));
        assertEquals(Rcode.NOERROR, ask(onlyDocumentation, query("www.example.test.", Type.A), OUTSIDE).getRcode());
        assertEquals(Rcode.REFUSED, ask(onlyDocumentation, query("www.example.test.", Type.A), INSIDE).getRcode());
    }

    @Test
    void namesInTheClustersetZoneAndOtherClassesGoDownTheChain() {
        assertSame(PASSED, ask(handler(), query("web.shop.svc.clusterset.local.", Type.A), OUTSIDE));
        Message chaos = query("version.bind.", Type.TXT);
        chaos.removeAllRecords(Section.QUESTION);
        chaos.addRecord(Record.newRecord(Name.fromConstantString("version.bind."), Type.TXT, DClass.CH), Section.QUESTION);
        assertSame(PASSED, ask(handler(), chaos, INSIDE));
        assertEquals(List.of(), upstreams.asked());
    }

    @Test
    void theAnswerIsRelayedWithTheClientsIdAndQuestionAndTheUpstreamsRcodeAndFlags() {
        Message reply = ask(handler(), query("WWW.Example.test.", Type.A), INSIDE);

        assertEquals(0x4242, reply.getHeader().getID());
        assertEquals("WWW.Example.test.", reply.getQuestion().getName().toString());
        assertEquals(Rcode.NOERROR, reply.getRcode());
        assertTrue(reply.getHeader().getFlag(Flags.RA), "the upstream's RA");
        assertFalse(reply.getHeader().getFlag(Flags.AA));
        assertEquals(List.of(a(WWW, 300, "192.0.2.10")), reply.getSection(Section.ANSWER));
        assertEquals(1, counters.snapshot().forwardedByOutcome().get("answered"));
    }

    @Test
    void theUpstreamIsAskedTheClientsQuestionWithItsRdCdAndDoBits() {
        Message withDo = query("www.example.test.", Type.AAAA);
        withDo.getHeader().setFlag(Flags.CD);
        withDo.addRecord(new OPTRecord(4096, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);

        ask(handler(), withDo, INSIDE);

        Message sent = upstreams.asked().getFirst();
        assertEquals(withDo.getQuestion(), sent.getQuestion());
        assertTrue(sent.getHeader().getFlag(Flags.RD));
        assertTrue(sent.getHeader().getFlag(Flags.CD));
        assertEquals(ExtendedFlags.DO, sent.getOPT().getFlags() & ExtendedFlags.DO);
        assertEquals(QueryProcessor.ADVERTISED_UDP_PAYLOAD, sent.getOPT().getPayloadSize());
    }

    @Test
    void aCachedAnswerComesBackWithItsTtlsAged() {
        ForwardHandler handler = handler();
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        now.addAndGet(10 * SECOND + SECOND / 2);

        Message again = ask(handler, query("www.example.test.", Type.A), INSIDE);

        assertEquals(1, upstreams.asked().size(), "answered from the cache");
        assertEquals(290, again.getSection(Section.ANSWER).getFirst().getTTL());
        DnsCounters.Snapshot counts = counters.snapshot();
        assertEquals(1, counts.cacheHits());
        assertEquals(1, counts.cacheMisses());
        assertEquals(0.5, counts.cacheHitRatio());
    }

    @Test
    void anAnswerIsCachedForItsSmallestTtl() {
        upstreams.answerWith(FakeUpstreams.answering(Rcode.NOERROR,
                List.of(a(WWW, 300, "192.0.2.10"), a(WWW, 30, "192.0.2.11")), List.of()));
        ForwardHandler handler = handler();
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        now.addAndGet(29 * SECOND);
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        assertEquals(1, upstreams.asked().size());
        now.addAndGet(2 * SECOND);
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        assertEquals(2, upstreams.asked().size(), "expired after 30 s");
    }

    @Test
    void aNegativeAnswerIsCachedForTheSoaTtlCappedByItsMinimum() {
        upstreams.answerWith(FakeUpstreams.answering(Rcode.NXDOMAIN, List.of(), List.of(soa(300, 60))));
        ForwardHandler handler = handler();
        Message first = ask(handler, query("nope.example.test.", Type.A), INSIDE);
        assertEquals(Rcode.NXDOMAIN, first.getRcode());
        assertEquals(soa(300, 60), first.getSection(Section.AUTHORITY).getFirst(), "NXDOMAIN with its SOA");
        now.addAndGet(59 * SECOND);
        assertEquals(Rcode.NXDOMAIN, ask(handler, query("nope.example.test.", Type.A), INSIDE).getRcode());
        assertEquals(1, upstreams.asked().size());
        now.addAndGet(2 * SECOND);
        ask(handler, query("nope.example.test.", Type.A), INSIDE);
        assertEquals(2, upstreams.asked().size(), "expired after the SOA minimum, 60 s");
    }

    @Test
    void aNegativeAnswerWithoutSoaIsNotCached() {
        upstreams.answerWith(FakeUpstreams.answering(Rcode.NXDOMAIN, List.of(), List.of()));
        ForwardHandler handler = handler();
        ask(handler, query("nope.example.test.", Type.A), INSIDE);
        ask(handler, query("nope.example.test.", Type.A), INSIDE);
        assertEquals(2, upstreams.asked().size());
    }

    @Test
    void aServerFailureIsCachedForTwoSecondsAtMost() {
        upstreams.answerWith(FakeUpstreams.answering(Rcode.SERVFAIL, List.of(), List.of(soa(3600, 3600))));
        ForwardHandler handler = handler();
        assertEquals(Rcode.SERVFAIL, ask(handler, query("www.example.test.", Type.A), INSIDE).getRcode());
        now.addAndGet(SECOND);
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        assertEquals(1, upstreams.asked().size(), "briefly cached");
        now.addAndGet(SECOND + SECOND / 10);
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        assertEquals(2, upstreams.asked().size(), "asked again after 2 s");
    }

    @Test
    void aTimeoutIsServfailAndCountedAsSuch() {
        upstreams.answerWith(query -> new UpstreamClient.TimedOut());
        Message reply = ask(handler(), query("www.example.test.", Type.A), INSIDE);
        assertEquals(Rcode.SERVFAIL, reply.getRcode());
        assertEquals(1, counters.snapshot().forwardedByOutcome().get("timeout"));
    }

    @Test
    void anErrorIsServfailAndCountedAsSuch() {
        upstreams.answerWith(query -> new UpstreamClient.Failed("port unreachable"));
        Message reply = ask(handler(), query("www.example.test.", Type.A), INSIDE);
        assertEquals(Rcode.SERVFAIL, reply.getRcode());
        assertEquals(1, counters.snapshot().forwardedByOutcome().get("error"));
    }

    @Test
    void theCacheKeepsAtMostItsCapacityDroppingTheLeastRecentlyUsed() {
        ForwardHandler handler = handler(Forwarding.to(List.of(new InetSocketAddress("127.0.0.1", 5300)))
                .withCacheEntries(2));
        ask(handler, query("a.example.test.", Type.A), INSIDE);
        ask(handler, query("b.example.test.", Type.A), INSIDE);
        ask(handler, query("a.example.test.", Type.A), INSIDE); // a is now the most recent
        ask(handler, query("c.example.test.", Type.A), INSIDE); // b goes
        ask(handler, query("a.example.test.", Type.A), INSIDE);
        assertEquals(3, upstreams.asked().size(), "a stayed");
        ask(handler, query("b.example.test.", Type.A), INSIDE);
        assertEquals(4, upstreams.asked().size(), "b was dropped");
    }

    @Test
    void noCacheWhenItHasNoRoom() {
        ForwardHandler handler = handler(Forwarding.to(List.of(new InetSocketAddress("127.0.0.1", 5300)))
                .withCacheEntries(0));
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        assertEquals(2, upstreams.asked().size());
    }

    @Test
    void dnssecOkQueriesAreCachedApart() {
        ForwardHandler handler = handler();
        Message withDo = query("www.example.test.", Type.A);
        withDo.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        ask(handler, query("www.example.test.", Type.A), INSIDE);
        ask(handler, withDo, INSIDE);
        assertEquals(2, upstreams.asked().size());
    }

    @Test
    void zoneTransfersAreNotForwarded() {
        assertEquals(Rcode.REFUSED, ask(handler(), query("example.test.", Type.AXFR), INSIDE).getRcode());
        assertEquals(List.of(), upstreams.asked());
    }

    @Test
    void theProcessorAnswersZoneNamesForEveryoneButForwardsOnlyForAllowedClients() {
        DnsChain chain = new DnsChain(List.of(
                new ClustersetZoneHandler(DnsConfig.DEFAULT_ZONE, DnsConfig.DEFAULT_TTL, Fixtures::directory),
                handler(), new RefusedHandler()));
        QueryProcessor processor = new QueryProcessor(chain, counters);
        Message zoneAnswer = reply(processor.process(RawDns.queryBytes(1, "web.shop.svc.clusterset.local."),
                Transport.UDP, OUTSIDE).orElseThrow());
        Message refused = reply(processor.process(RawDns.queryBytes(2, "www.example.test."), Transport.UDP, OUTSIDE)
                .orElseThrow());
        Message forwarded = reply(processor.process(RawDns.queryBytes(3, "www.example.test."), Transport.UDP, INSIDE)
                .orElseThrow());
        processor.close();

        assertEquals(Rcode.NOERROR, zoneAnswer.getRcode());
        assertEquals(Rcode.REFUSED, refused.getRcode());
        assertEquals(Rcode.NOERROR, forwarded.getRcode());
        assertEquals(1, upstreams.asked().size());
    }

    private static Message reply(byte[] wire) {
        try {
            return new Message(wire);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
