package io.gnomon.spanner.torture;

import io.gnomon.spanner.check.AnomalyType;
import io.gnomon.spanner.check.CheckResult;
import io.gnomon.spanner.check.Checker;
import io.gnomon.spanner.check.HistorySource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** How a run's checker verdict decides pass or fail, without running a cluster. */
class TortureVerdictTest {
    /** Write skew (G2) between T0 and T1; T4 reads both appends. */
    private static final String WRITE_SKEW = """
            {"index":0,"process":1,"type":"invoke","f":"txn","value":[["r","x",null],["append","y",1]],"time":10}
            {"index":1,"process":2,"type":"invoke","f":"txn","value":[["r","y",null],["append","x",1]],"time":20}
            {"index":2,"process":1,"type":"ok","f":"txn","value":[["r","x",[]],["append","y",1]],"time":30}
            {"index":3,"process":2,"type":"ok","f":"txn","value":[["r","y",[]],["append","x",1]],"time":40}
            {"index":4,"process":3,"type":"invoke","f":"txn","value":[["r","x",null],["r","y",null]],"time":50}
            {"index":5,"process":3,"type":"ok","f":"txn","value":[["r","x",[1]],["r","y",[1]]],"time":60}
            """;

    private static TortureRun.Summary summary(TortureSetup setup, CheckResult check) {
        return summary(setup, check, 0);
    }

    private static TortureRun.Summary summary(TortureSetup setup, CheckResult check, long staleReads) {
        return new TortureRun.Summary(setup.backend(), setup.replicas(), setup.clients(), setup.fault(),
                setup.negativeControl(), setup.seed(), 1, check, 0, List.of(), List.of(Duration.ofSeconds(1)), 0,
                Path.of("history.jsonl"), staleReads);
    }

    /** Two transactions in real-time order with nothing wrong between them: the checker calls it valid. */
    private static final String SERIAL = """
            {"index":0,"process":1,"type":"invoke","f":"txn","value":[["append","x",1]],"time":10}
            {"index":1,"process":1,"type":"ok","f":"txn","value":[["append","x",1]],"time":20}
            {"index":2,"process":2,"type":"invoke","f":"txn","value":[["r","x",null]],"time":30}
            {"index":3,"process":2,"type":"ok","f":"txn","value":[["r","x",[1]]],"time":40}
            """;

    @Test
    void aStaleReadTheHarnessSawFailsTheRunEvenWhenTheCheckerCallsItValid() throws Exception {
        CheckResult valid = new Checker(new Checker.Limits(10, 1_000_000), System::nanoTime)
                .check(HistorySource.ofString(SERIAL));
        assertThat(valid.valid()).isTrue();
        TortureSetup plain = new TortureSetup("sim", 3, 8, FaultKind.KILL_LEADER, Duration.ofSeconds(30),
                Duration.ofMillis(1500), Duration.ofMillis(2500), 1000, 300, 1, null, "");
        assertThat(plain.passed(summary(plain, valid, 0))).isTrue();
        // The witness and the checker disagree: a checker miss, which must never read as a clean run.
        assertThat(plain.passed(summary(plain, valid, 1))).isFalse();
    }

    @Test
    void aCycleLeftUnclassifiedFailsTheRunAndDoesNotCountAsACaughtControl() throws Exception {
        CheckResult cutShort = new Checker(new Checker.Limits(10, 1), System::nanoTime)
                .check(HistorySource.ofString(WRITE_SKEW));
        assertThat(cutShort.counts()).containsOnlyKeys(AnomalyType.UNCLASSIFIED_CYCLE);

        TortureSetup plain = new TortureSetup("sim", 3, 8, FaultKind.KILL_LEADER, Duration.ofSeconds(30),
                Duration.ofMillis(1500), Duration.ofMillis(2500), 1000, 300, 1, null, "");
        TortureRun.Summary s = summary(plain, cutShort);
        assertThat(s.line()).contains("anomalies=1 {unclassified-cycle=1} verdict=unclassified-cycle");
        assertThat(plain.passed(s)).isFalse();

        TortureSetup control = TortureSetup.negativeControl("sim", "stale-lease-reads", FaultKind.PAUSE_LEADER, 8,
                Duration.ofSeconds(30), 1, "");
        TortureRun.Summary c = summary(control, cutShort);
        assertThat(c.realtimeAnomalies()).isFalse();
        assertThat(control.passed(c)).isFalse();
    }
}
