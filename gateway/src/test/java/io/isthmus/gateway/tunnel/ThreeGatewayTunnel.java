package io.isthmus.gateway.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.gateway.Gateway;
import io.isthmus.testing.TcpRelay;
import io.isthmus.testing.ThreeClusterTopology;
import io.isthmus.testing.TwoClusterTopology.Network;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Three clusters, east (0), west (1) and north (2), each a real gateway started in this JVM whose tunnel runs in its
 * gateway namespace on a shared underlay ({@link ThreeClusterTopology}: 192.168.79.1-3 on one bridge), with a pod
 * namespace behind it (pod network {@code PREFIX.(i+1)}: gateway .1, pod .2). Every gateway peers with both others,
 * each stream through a {@link TcpRelay} of its own on loopback, so that a test can partition one cluster: cut its
 * peering ({@link #cutPeering}: the relays of every stream from or to it) and its underlay port ({@link #cutUnderlay}),
 * and heal either. Namespaces are {@code it3-RANDOM-*}, made here and deleted by {@link #close()}. Needs root.
 */
final class ThreeGatewayTunnel extends GatewayTunnels {
    static final ClusterId EAST = ClusterId.of("east");
    static final ClusterId WEST = ClusterId.of("west");
    static final ClusterId NORTH = ClusterId.of("north");
    static final List<ClusterId> CLUSTERS = List.of(EAST, WEST, NORTH);

    final ThreeClusterTopology topology;
    final List<NetNamespace> pods = new ArrayList<>();
    private final List<NetNamespace> gatewayNamespaces = new ArrayList<>();
    private final String podPrefix;
    /** relays[from][to]: the stream gateway {@code from} opens to gateway {@code to}. */
    private final TcpRelay[][] relays = new TcpRelay[3][3];
    private final Gateway[] gateways = new Gateway[3];

    /**
     * @param podPrefix the first two octets of the pod networks, "10.161": cluster i's pods are in 10.161.(i+1).0/24
     * @param planBlock the gateways' {@code plan { ... }} settings
     */
    ThreeGatewayTunnel(Path dir, String podPrefix, String planBlock) throws Exception {
        super(dir, planBlock, 3);
        this.podPrefix = podPrefix;
        List<Network> podNetworks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            podNetworks.add(Network.of(podNetwork(i)));
        }
        topology = ThreeClusterTopology.create("it3", podNetworks, Network.of("192.168.79"));
        try {
            for (int i = 0; i < 3; i++) {
                pods.add(NetNamespace.named(topology.pods().get(i)));
                gatewayNamespaces.add(NetNamespace.named(topology.gateways().get(i)));
            }
            for (int from = 0; from < 3; from++) {
                for (int to = 0; to < 3; to++) {
                    if (from != to) {
                        relays[from][to] = TcpRelay.start(0, new InetSocketAddress("127.0.0.1", peeringPort(to)));
                    }
                }
            }
            issueCertificates(CLUSTERS);
            // started side by side: each is its own actor system, and much of a start is waiting
            List<CompletableFuture<Gateway>> starting = new ArrayList<>();
            try (ExecutorService starter = Executors.newFixedThreadPool(3)) {
                for (int i = 0; i < 3; i++) {
                    int index = i;
                    starting.add(CompletableFuture.supplyAsync(() -> start(index), starter));
                }
            }
            RuntimeException failed = null;
            for (int i = 0; i < 3; i++) {
                try {
                    gateways[i] = starting.get(i).join(); // every started one is kept, so close() stops it
                } catch (CompletionException e) {
                    failed = failed != null ? failed
                            : e.getCause() instanceof RuntimeException cause ? cause : e;
                }
            }
            if (failed != null) {
                throw failed;
            }
            awaitTrue("every peer link up", Duration.ofSeconds(60), this::allLinked);
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    private Gateway start(int index) {
        List<Integer> peers = new ArrayList<>();
        for (int to = 0; to < 3; to++) {
            if (to != index) {
                peers.add(relays[index][to].port());
            }
        }
        return start(index, CLUSTERS.get(index), gatewayNamespaces.get(index), topology.underlayAddress(index), peers);
    }

    String podNetwork(int cluster) {
        return podPrefix + "." + (cluster + 1);
    }

    /** The address of cluster {@code cluster}'s pod. */
    String pod(int cluster) {
        return podNetwork(cluster) + ".2";
    }

    Gateway gateway(int cluster) {
        return gateways[cluster];
    }

    /** Whether every gateway has a link up to both others. */
    boolean allLinked() {
        for (int i = 0; i < 3; i++) {
            List<ClusterId> others = new ArrayList<>(CLUSTERS);
            others.remove(i);
            if (!linksUp(gateways[i], others)) {
                return false;
            }
        }
        return true;
    }

    /** Cuts every peering stream from and to {@code cluster} (it is refused until {@link #healPeering}). */
    void cutPeering(int cluster) {
        eachRelayOf(cluster, TcpRelay::cut);
    }

    void healPeering(int cluster) {
        eachRelayOf(cluster, TcpRelay::heal);
    }

    private void eachRelayOf(int cluster, java.util.function.Consumer<TcpRelay> action) {
        for (int other = 0; other < 3; other++) {
            if (other != cluster) {
                action.accept(relays[cluster][other]);
                action.accept(relays[other][cluster]);
            }
        }
    }

    void cutUnderlay(int cluster) {
        topology.cutUnderlay(cluster);
    }

    void healUnderlay(int cluster) {
        topology.healUnderlay(cluster);
    }

    @Override
    List<Gateway> gateways() {
        return Arrays.asList(gateways);
    }

    @Override
    void closeTopology() {
        for (TcpRelay[] row : relays) {
            for (TcpRelay relay : row) {
                if (relay != null) {
                    relay.close();
                }
            }
        }
        topology.close();
    }
}
