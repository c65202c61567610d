/**
 * The torture harness (docs/reliability.md): one list-append {@code Workload} and the
 * history checker, run against a {@code Cluster} — Gnomon's replica processes or a
 * 3-member etcd cluster — while {@code TortureRun} injects faults on a schedule
 * ({@code FaultKind}); {@code bin/spanner-lite torture} and {@code torture-report}.
 */
package io.gnomon.spanner.torture;
