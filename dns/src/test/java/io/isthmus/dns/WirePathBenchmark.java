package io.isthmus.dns;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * How long {@link QueryProcessor} takes per query on each path, without sockets: a benchmark, not a test. Prints
 * nanoseconds per query after warming up.
 * {@code java -cp dns/target/classes:dns/target/test-classes:... io.isthmus.dns.WirePathBenchmark}
 */
public final class WirePathBenchmark {
    private WirePathBenchmark() {
    }

    public static void main(String[] args) {
        InetSocketAddress client = new InetSocketAddress("127.0.0.1", 40000);
        DnsChain chain = new DnsChain(List.of(
                new ClustersetZoneHandler(DnsConfig.of(new InetSocketAddress("127.0.0.1", 53)), Fixtures::directory),
                new RefusedHandler()));
        byte[] query = WirePathTest.Form.EDNS_4096.apply("web.shop.svc.clusterset.local.", "A");
        for (boolean wirePath : new boolean[] {true, false}) {
            QueryProcessor processor = new QueryProcessor(chain, new DnsCounters(), wirePath);
            int rounds = 2_000_000;
            for (int warmup = 0; warmup < 3; warmup++) {
                long started = System.nanoTime();
                int bytes = 0;
                for (int i = 0; i < rounds; i++) {
                    bytes += processor.process(query, Transport.UDP, client).orElseThrow().length;
                }
                long nanos = System.nanoTime() - started;
                System.out.printf("%s path: %d ns a query (%,d queries, %,d bytes out)%n",
                        wirePath ? "wire" : "chain", nanos / rounds, rounds, bytes);
            }
        }
    }
}
