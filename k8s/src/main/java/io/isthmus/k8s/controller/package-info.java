/**
 * The controller shell: {@link io.isthmus.k8s.controller.Watch} (informers over a scope),
 * {@link io.isthmus.k8s.controller.WorkQueue} (de-duplicated keys, per-key exponential retry) and
 * {@link io.isthmus.k8s.controller.Controller} (one worker, full resync, not-ready reasons); each controller of this
 * module supplies only its key functions and its reconcile.
 */
package io.isthmus.k8s.controller;
