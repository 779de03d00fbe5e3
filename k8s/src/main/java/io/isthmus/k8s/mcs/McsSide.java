package io.isthmus.k8s.mcs;

import io.isthmus.api.ServiceKey;
import io.isthmus.k8s.controller.Controller;

/** One direction of the MCS sync: its watches and its reconcile, keyed by service. */
interface McsSide extends Controller.Reconciler<ServiceKey> {
    /** Adds this side's watches (with their key functions) to {@code builder}. */
    Controller.Builder<ServiceKey> watch(Controller.Builder<ServiceKey> builder);
}
