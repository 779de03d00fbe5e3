package io.isthmus.gateway.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.ipam.AddressPlan;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.PeerChannels;
import io.isthmus.gateway.peering.PeeringTls;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.tunnel.ControlLinks;
import io.isthmus.tunnel.TunnelDataPlane;
import io.isthmus.tunnel.TunnelRoutes;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * How the gateway plugs the tunnel's {@link TunnelDataPlane} in: the peering streams as its {@link ControlLinks}, the
 * address plan and the mesh's imports as the routes it wants ({@link TunnelRoutePlanner}), the metrics as its events,
 * and the XDP pre-filter in front of its sockets when {@code tunnel.xdp} asks for one ({@link UnderlayXdp}).
 */
public final class TunnelWiring {
    private TunnelWiring() {
    }

    /** The data plane when {@code isthmus.tunnel.enabled}; peers without a link for the imports' TTL are removed. */
    public static Optional<TunnelDataPlane> startIfEnabled(GatewayConfig config, PeeringTls tls, PeerChannels channels,
                                                           AddressPlan addressPlan, Supplier<MeshView.Snapshot> mesh,
                                                           Metrics registry, Clock clock) {
        if (!config.tunnel().enabled()) {
            return Optional.empty();
        }
        TunnelMetrics metrics = new TunnelMetrics(registry);
        TunnelDataPlane plane = TunnelDataPlane.start(config.tunnel().dataPlane(config.peering().importTtl()),
                config.clusterId(), tls::certificate, new PeeringAsControlLinks(channels),
                wantedRoutes(config.clusterId(), addressPlan, mesh), metrics, clock);
        try {
            plane.useUnderlayFilter(UnderlayXdp.start(config.tunnel(), plane));
        } catch (RuntimeException e) {
            plane.close();
            throw e;
        }
        metrics.watch(plane);
        return Optional.of(plane);
    }

    /** The plan as last known (a plan that does not answer in time leaves the routes to follow the imports alone). */
    private static Supplier<CompletionStage<TunnelRoutes>> wantedRoutes(ClusterId self, AddressPlan addressPlan,
                                                                       Supplier<MeshView.Snapshot> mesh) {
        AtomicReference<Optional<Plan>> known = new AtomicReference<>(Optional.empty());
        return () -> {
            CompletionStage<Optional<Plan>> plan = addressPlan.configured()
                    ? addressPlan.current().handle((p, failure) -> {
                        if (failure == null) {
                            known.set(Optional.of(p));
                        }
                        return known.get();
                    })
                    : CompletableFuture.completedFuture(Optional.empty());
            return plan.thenApply(p -> TunnelRoutePlanner.compute(self, p, mesh.get()));
        };
    }

    /** The peering streams as the data plane's links: tunnel messages travel inside {@link PeerMessage}s. */
    private record PeeringAsControlLinks(PeerChannels channels) implements ControlLinks {
        private record Link(PeerChannels.Link link) implements ControlLinks.Link {
            @Override
            public ClusterId remote() {
                return link.remote();
            }

            @Override
            public X509Certificate peerCertificate() {
                return link.peerCertificate();
            }

            @Override
            public boolean send(TunnelMessage message) {
                return link.send(PeerMessage.newBuilder().setTunnel(message).build());
            }
        }

        @Override
        public void onMessage(BiConsumer<ControlLinks.Link, TunnelMessage> handler) {
            channels.handleOnLink(PeerMessage.KindCase.TUNNEL,
                    (link, message) -> handler.accept(new Link(link), message.getTunnel()));
        }

        @Override
        public void onLinkUp(Consumer<ControlLinks.Link> handler) {
            channels.whenLinkUp(link -> handler.accept(new Link(link)));
        }

        @Override
        public Set<ClusterId> connected() {
            return channels.connected();
        }
    }
}
