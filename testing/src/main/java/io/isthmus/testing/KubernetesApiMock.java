package io.isthmus.testing;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;

/**
 * One cluster's API server for a test: fabric8's kubernetes-server-mock in CRUD mode (it stores what is written,
 * serves lists and watches), over plain HTTP on a loopback port. No real API server can run on these machines.
 * {@link #stop()} makes it unreachable and {@link #restart()} brings it back on the same port with the same objects,
 * as an API server restart would; open watches are cut either way.
 */
public final class KubernetesApiMock implements AutoCloseable {
    private final KubernetesCrudDispatcher dispatcher;
    private KubernetesMockServer server;
    private final int port;
    private KubernetesClient client;

    private KubernetesApiMock(List<CustomResourceDefinitionContext> customResources) {
        this.dispatcher = new KubernetesCrudDispatcher(customResources);
        this.server = newServer();
        server.init(InetAddress.getLoopbackAddress(), 0);
        this.port = server.getPort();
    }

    /** @param customResources the custom resources the server knows (scope, status subresource) */
    public static KubernetesApiMock start(List<CustomResourceDefinitionContext> customResources) {
        return new KubernetesApiMock(customResources);
    }

    private KubernetesMockServer newServer() {
        return new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    }

    /** {@code http://127.0.0.1:PORT}, what a gateway's {@code kubernetes.master-url} is set to. */
    public String url() {
        return "http://127.0.0.1:" + port;
    }

    /** A client of this server for the test's own reads and writes (one, made on first use). */
    public synchronized KubernetesClient client() {
        if (client == null) {
            // fabric8's 10 s request timeout is too short for a loaded 2-core CI machine (a create once took longer)
            try (KubernetesClient made = server.createClient()) {
                client = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(
                        new io.fabric8.kubernetes.client.ConfigBuilder(made.getConfiguration())
                                .withRequestTimeout(60_000).build()).build();
            }
        }
        return client;
    }

    /** The API server goes away: connections are refused until {@link #restart()}. */
    public synchronized void stop() {
        server.destroy();
    }

    /** The API server comes back on the same port, with every object it held. */
    public synchronized void restart() {
        server = newServer();
        server.init(InetAddress.getLoopbackAddress(), port);
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
        }
        try {
            server.destroy();
        } catch (IllegalStateException slowClose) {
            // fabric8's mock waits 10 s for its Vert.x server to close; on a loaded machine that can run out after
            // the test itself passed. The port is released when the close completes; say so rather than fail.
            System.err.println("KubernetesApiMock on port " + port + " did not finish closing in time: "
                    + slowClose.getMessage());
        }
    }
}
