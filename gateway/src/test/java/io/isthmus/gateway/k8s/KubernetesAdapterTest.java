package io.isthmus.gateway.k8s;

import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.ipam.PoolCniBackend;
import io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings;
import io.isthmus.k8s.KubernetesClients;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The adapter's own duties: nothing at all when every part is off, and the parts' reasons gathered when on. */
class KubernetesAdapterTest {
    private static final ClusterId EAST = ClusterId.of("east");

    @Test
    void withEveryPartOffThereIsNoClientAndEveryStepIsANoOp() {
        GatewayConfig.Kubernetes off = new GatewayConfig.Kubernetes(false, "", List.of(), Duration.ofSeconds(30));
        PoolCniBackend.PodKinds fallback = (namespace, name) -> OwnerKind.STATEFUL_POD;
        try (KubernetesAdapter adapter = KubernetesAdapter.open(off, EAST)) {
            // None of these may reach for what it was given: with everything off they are never used.
            adapter.startPools(null, null, Clock.systemUTC());
            adapter.startServiceSync(null, null);
            adapter.startPeers(null, null, null, java.util.Set.of());
            assertEquals(Optional.empty(), adapter.liveness());
            assertSame(PoolCniBackend.PodClaims.UNCHECKED, adapter.podClaims());
            assertSame(fallback, adapter.podKinds(fallback));
            adapter.startPolicies(null, null);
            assertEquals(Optional.empty(), adapter.serviceSync());
            assertEquals(Optional.empty(), adapter.workloadLabels());
            assertEquals(List.of(), adapter.notReadyReasons());
        }
    }

    @Test
    void podsAsOwnersAgainstAnApiServerThatNeverAnsweredAreNotReadyAndSayWhy() throws Exception {
        KubernetesApiMock gone = KubernetesApiMock.start(List.of());
        String url = gone.url();
        gone.close();
        GatewayConfig.Kubernetes pods = new GatewayConfig.Kubernetes(false, url, List.of(), Duration.ofSeconds(30),
                false, new KubernetesIpamSettings(false, KubernetesIpamSettings.OwnerSource.PODS,
                Duration.ofSeconds(10), Duration.ZERO), false);
        try (KubernetesAdapter adapter = KubernetesAdapter.open(pods, EAST, KubernetesClients.connect(url), true)) {
            Thread.sleep(300);
            List<String> reasons = adapter.notReadyReasons();
            assertEquals(2, reasons.size(), reasons.toString());
            assertTrue(reasons.get(0).startsWith("kubernetes pod owners: Pods not yet listed from " + url), reasons.toString());
            assertTrue(reasons.get(1).startsWith("kubernetes pod owners: StatefulSets not yet listed from " + url),
                    reasons.toString());
            assertTrue(adapter.liveness().isPresent(), "the pods are the owner source, in sync or not");
        }
    }

    @Test
    void policiesOnWatchWorkloadLabelsFromTheStartAndSayWhyUntilListed() throws Exception {
        KubernetesApiMock gone = KubernetesApiMock.start(List.of());
        String url = gone.url();
        gone.close();
        GatewayConfig.Kubernetes peersAndPolicies = new GatewayConfig.Kubernetes(false, url, List.of(),
                Duration.ofSeconds(30), true, KubernetesIpamSettings.off(), true);
        try (KubernetesAdapter adapter = KubernetesAdapter.open(peersAndPolicies, EAST, KubernetesClients.connect(url),
                true)) {
            assertTrue(adapter.workloadLabels().isPresent(), "policies on: the labels are watched from open on");
            Thread.sleep(300);
            List<String> reasons = adapter.notReadyReasons();
            assertEquals(List.of("kubernetes workload labels: Pods not yet listed from " + url + "/",
                    "kubernetes workload labels: Namespaces not yet listed from " + url + "/"), reasons);
            assertEquals(0, adapter.workloadLabels().get().snapshot().version());
        }
    }
}
