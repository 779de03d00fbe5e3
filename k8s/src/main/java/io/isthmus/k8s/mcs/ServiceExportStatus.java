package io.isthmus.k8s.mcs;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;

import java.util.List;

/** The status of a {@code ServiceExport}: its conditions ({@code Valid}, {@code Conflict}, {@code Ready}). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ServiceExportStatus(List<Condition> conditions) {
    public ServiceExportStatus {
        conditions = conditions == null ? List.of() : List.copyOf(conditions);
    }
}
