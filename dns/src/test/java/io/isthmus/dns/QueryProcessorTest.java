package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;

/**
 * The processor's two entry points: {@code process(..., reply)} answers the zone on the calling thread and hands
 * queries for a blocking chain to virtual threads; {@code process(...)} answers everything before it returns.
 */
class QueryProcessorTest {
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40000);
    private static final byte[] ZONE_QUERY = RawDns.queryBytes(1, "web.shop.svc.clusterset.local.");
    private static final byte[] OTHER_QUERY = RawDns.queryBytes(2, "www.example.test.");

    /** A handler that, like a forwarder, may block: it waits for {@link #release} before answering. */
    private static final class Gate implements DnsHandler {
        final CountDownLatch open = new CountDownLatch(1);
        final BlockingQueue<Thread> servedOn = new ArrayBlockingQueue<>(2048);

        @Override
        public Message serve(DnsRequest request, Next next) {
            servedOn.add(Thread.currentThread());
            try {
                open.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return request.reply(Rcode.SERVFAIL);
            }
            return request.reply(Rcode.NXDOMAIN);
        }

        @Override
        public boolean mayBlock() {
            return true;
        }

        void release() {
            open.countDown();
        }
    }

    private static DnsChain chainWith(DnsHandler handler) {
        return new DnsChain(List.of(
                new ClustersetZoneHandler(DnsConfig.DEFAULT_ZONE, DnsConfig.DEFAULT_TTL, Fixtures::directory),
                handler, new RefusedHandler()));
    }

    @Test
    void zoneAnswersAreRepliedOnTheCallingThreadBeforeProcessReturns() {
        Gate gate = new Gate();
        try (QueryProcessor processor = new QueryProcessor(chainWith(gate), new DnsCounters())) {
            BlockingQueue<Thread> repliedOn = new ArrayBlockingQueue<>(1);
            processor.process(ZONE_QUERY, Transport.UDP, CLIENT, reply -> repliedOn.add(Thread.currentThread()));
            assertSame(Thread.currentThread(), repliedOn.poll());
            assertEquals(0, gate.servedOn.size(), "never reached the blocking handler");
        }
    }

    @Test
    void queriesForABlockingChainAreRepliedLaterFromAVirtualThread() throws InterruptedException, IOException {
        Gate gate = new Gate();
        try (QueryProcessor processor = new QueryProcessor(chainWith(gate), new DnsCounters())) {
            BlockingQueue<byte[]> replies = new ArrayBlockingQueue<>(1);
            processor.process(OTHER_QUERY, Transport.UDP, CLIENT, replies::add);
            assertEquals(0, replies.size(), "process returned while the chain still waits");

            gate.release();
            byte[] reply = replies.poll(5, TimeUnit.SECONDS);

            assertEquals(Rcode.NXDOMAIN, new Message(reply).getRcode());
            Thread servedOn = gate.servedOn.poll();
            assertTrue(servedOn.isVirtual(), "served on a virtual thread: " + servedOn);
            assertNotSame(Thread.currentThread(), servedOn);
        }
    }

    @Test
    void withoutABlockingHandlerEverythingIsRepliedInline() {
        try (QueryProcessor processor = new QueryProcessor(chainWith((request, next) -> next.serve(request)),
                new DnsCounters())) {
            BlockingQueue<byte[]> replies = new ArrayBlockingQueue<>(1);
            processor.process(OTHER_QUERY, Transport.UDP, CLIENT, replies::add);
            assertEquals(1, replies.size(), "REFUSED, at once");
        }
    }

    @Test
    void theOptionalFormBlocksUntilTheChainAnswers() {
        Gate gate = new Gate();
        gate.release();
        try (QueryProcessor processor = new QueryProcessor(chainWith(gate), new DnsCounters())) {
            assertTrue(processor.process(OTHER_QUERY, Transport.TCP, CLIENT).isPresent());
        }
    }

    @Test
    void pastTheLimitOfWaitingQueriesNewOnesAreDroppedAndCounted() throws InterruptedException {
        Gate gate = new Gate();
        DnsCounters counters = new DnsCounters();
        try (QueryProcessor processor = new QueryProcessor(chainWith(gate), counters)) {
            BlockingQueue<byte[]> replies = new ArrayBlockingQueue<>(QueryProcessor.MAX_WAITING + 10);
            for (int i = 0; i < QueryProcessor.MAX_WAITING + 10; i++) {
                processor.process(OTHER_QUERY, Transport.UDP, CLIENT, replies::add);
            }
            assertEquals(10, counters.snapshot().dropped());
            BlockingQueue<byte[]> stillAnswered = new ArrayBlockingQueue<>(1);
            processor.process(ZONE_QUERY, Transport.UDP, CLIENT, stillAnswered::add);
            assertEquals(1, stillAnswered.size(), "the zone is answered even then");

            gate.release();
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                while (replies.size() < QueryProcessor.MAX_WAITING) {
                    Thread.sleep(10);
                }
            });
        }
    }

    @Test
    void closeStopsQueriesStillWaiting() {
        Gate gate = new Gate();
        QueryProcessor processor = new QueryProcessor(chainWith(gate), new DnsCounters());
        BlockingQueue<byte[]> replies = new ArrayBlockingQueue<>(1);
        processor.process(OTHER_QUERY, Transport.UDP, CLIENT, replies::add);
        assertTimeoutPreemptively(Duration.ofSeconds(5), processor::close);
    }

    @Test
    void everyResponseCountsInTheLatencyHistogram() {
        DnsCounters counters = new DnsCounters();
        try (QueryProcessor processor = new QueryProcessor(chainWith((request, next) -> next.serve(request)), counters)) {
            processor.process(ZONE_QUERY, Transport.UDP, CLIENT);
            processor.process(OTHER_QUERY, Transport.UDP, CLIENT, reply -> { });
            processor.process(new byte[] {1, 2, 3}, Transport.UDP, CLIENT); // dropped: no response, no latency
        }
        DnsCounters.LatencyHistogram latency = counters.snapshot().latency();
        assertEquals(2, latency.count());
        assertEquals(DnsCounters.LATENCY_BOUNDS_MICROS.size() + 1, latency.counts().size());
        assertEquals(2, latency.cumulativeCounts().getLast());
        assertTrue(latency.sumMicros() >= 0);
    }

    @Test
    void aReplyConsumerThatThrowsDoesNotBreakTheProcessor() {
        try (QueryProcessor processor = new QueryProcessor(chainWith((request, next) -> next.serve(request)),
                new DnsCounters())) {
            processor.process(ZONE_QUERY, Transport.UDP, CLIENT, reply -> {
                throw new IllegalStateException("socket closed");
            });
            assertTrue(processor.process(ZONE_QUERY, Transport.UDP, CLIENT).isPresent());
        }
    }
}
