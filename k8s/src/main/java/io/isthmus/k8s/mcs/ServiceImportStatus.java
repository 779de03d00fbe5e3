package io.isthmus.k8s.mcs;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/** The status of a {@code ServiceImport}: the clusters whose exports make it up. */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ServiceImportStatus(List<Cluster> clusters) {
    public ServiceImportStatus {
        clusters = clusters == null ? List.of() : List.copyOf(clusters);
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Cluster(String cluster) {
    }
}
