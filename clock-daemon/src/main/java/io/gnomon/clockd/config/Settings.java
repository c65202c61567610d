package io.gnomon.clockd.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * Validated settings, in the units the code uses (nanoseconds, ppb, resolved addresses).
 *
 * @param servers                 NTP servers in configuration order, with the names they are reported under
 *                                ({@code ntp:host:port}) and their poll intervals; empty = local default
 * @param pollIntervalNanos       the poll interval of servers configured without their own
 * @param maxDriftPpb             the configured maximum drift, as the per-local-nanosecond growth of the bound
 *                                (d / (1 - d), rounded up: docs/clock-accuracy.md)
 * @param journalDir              null when the journal is disabled
 * @param clockBoundPath          where to write a ClockBound v2 segment too; null when disabled
 */
public record Settings(List<io.gnomon.clockd.source.NtpSource.Server> servers, long maxDriftPpb,
                       long pollIntervalNanos, long replyTimeoutNanos, long maxRootDistanceNanos,
                       long assumedLocalErrorNanos, Path segmentPath, long publishIntervalNanos,
                       long voidAfterNanos, InetSocketAddress grpcAddress, InetSocketAddress metricsAddress,
                       Path journalDir, long journalRetentionNanos,
                       List<io.gnomon.clockd.source.chrony.ChronySource.Config> chronySources,
                       List<io.gnomon.clockd.source.ptp.PtpSource.Config> ptpSources, java.util.Set<String> trusted,
                       Path clockBoundPath) {
    public Settings {
        servers = List.copyOf(servers);
        chronySources = List.copyOf(chronySources);
        ptpSources = List.copyOf(ptpSources);
        trusted = java.util.Set.copyOf(trusted);
    }

    /** The NTP servers' names, in configuration order. */
    public List<String> serverNames() {
        return servers.stream().map(io.gnomon.clockd.source.NtpSource.Server::name).toList();
    }

    /** The longest poll interval of any source (NTP, chrony, PTP): what the reachability window must span. */
    public long slowestPollIntervalNanos() {
        long slowest = 0;
        for (var s : servers) {
            slowest = Math.max(slowest, s.pollIntervalNanos());
        }
        for (var c : chronySources) {
            slowest = Math.max(slowest, c.pollIntervalNanos());
        }
        for (var p : ptpSources) {
            slowest = Math.max(slowest, p.pollIntervalNanos());
        }
        return slowest == 0 ? pollIntervalNanos : slowest;
    }

    /** Every source's name (NTP, chrony, PTP), in configuration order: the estimator's voters. */
    public List<String> sourceNames() {
        List<String> all = new java.util.ArrayList<>(serverNames());
        chronySources.forEach(c -> all.add(c.name()));
        ptpSources.forEach(p -> all.add(p.name()));
        return List.copyOf(all);
    }
}
