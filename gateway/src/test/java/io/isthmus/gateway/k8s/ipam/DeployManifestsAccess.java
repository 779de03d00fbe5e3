package io.isthmus.gateway.k8s.ipam;

import io.fabric8.kubernetes.api.model.HasMetadata;

import java.nio.file.Path;
import java.util.List;

/** {@link DeployManifestsTest}'s renderer, for the tests of other packages that check manifests. */
public final class DeployManifestsAccess {
    private DeployManifestsAccess() {
    }

    public static List<HasMetadata> render(Path dir) throws Exception {
        return DeployManifestsTest.render(dir);
    }
}
