package io.gnomon.spanner.check;

import io.gnomon.spanner.history.HistoryFormatException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Input the checker refuses: each names its line and the reason. */
class UnreadableHistoryTest {
    private static final String INVOKE_X1 = "{\"index\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"x\",1]],\"time\":10}\n";
    private static final String OK_X1 = "{\"index\":1,\"process\":1,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"append\",\"x\",1]],\"time\":20}\n";

    private static HistoryFormatException refused(String history) {
        HistoryFormatException e = catchThrowableOfType(HistoryFormatException.class,
                () -> new Checker(Checker.Limits.DEFAULT, System::nanoTime).check(HistorySource.ofString(history)));
        assertThat(e).as("expected the history to be refused").isNotNull();
        return e;
    }

    @Test
    void badJson() {
        HistoryFormatException e = refused(INVOKE_X1 + OK_X1 + "{\"index\":2,\n");
        assertThat(e.lineNumber()).isEqualTo(3);
        assertThat(e.reason()).startsWith("not JSON");
    }

    @Test
    void okWithoutInvoke() {
        HistoryFormatException e = refused(OK_X1);
        assertThat(e.getMessage()).isEqualTo("line 1: ok for process 1 without an invoke before it");
    }

    @Test
    void completionDiffersFromInvocation() {
        HistoryFormatException e = refused(INVOKE_X1 + OK_X1.replace("1]]", "2]]"));
        assertThat(e.lineNumber()).isEqualTo(2);
        assertThat(e.reason()).isEqualTo("micro-op 0 [append x 2] differs from [append x 1] in its invoke on line 1");
    }

    @Test
    void duplicateAppendValue() {
        String again = INVOKE_X1.replace("\"index\":0", "\"index\":2").replace("\"process\":1", "\"process\":2")
                .replace("\"time\":10", "\"time\":30");
        HistoryFormatException e = refused(INVOKE_X1 + OK_X1 + again);
        assertThat(e.lineNumber()).isEqualTo(3);
        assertThat(e.reason()).contains("value 1 is appended to key 'x' again").contains("index 0");
    }

    @Test
    void unknownTypeAndF() {
        assertThat(refused(INVOKE_X1.replace("invoke", "start")).reason()).startsWith("unknown type 'start'");
        assertThat(refused(INVOKE_X1.replace("\"txn\"", "\"read\"")).reason()).startsWith("unknown f 'read'");
        assertThat(refused(INVOKE_X1.replace("append", "push")).reason()).contains("unknown f \"push\"");
    }

    @Test
    void okReadWithoutResult() {
        String inv = INVOKE_X1.replace("[\"append\",\"x\",1]", "[\"r\",\"x\",null]");
        String ok = OK_X1.replace("[\"append\",\"x\",1]", "[\"r\",\"x\",null]");
        assertThat(refused(inv + ok).reason()).isEqualTo("micro-op 0 of an ok is a read of 'x' without its result");
    }

    @Test
    void secondInvokeWhileInFlight() {
        String second = INVOKE_X1.replace("\"index\":0", "\"index\":1").replace(",1]]", ",2]]");
        HistoryFormatException e = refused(INVOKE_X1 + second);
        assertThat(e.lineNumber()).isEqualTo(2);
        assertThat(e.reason()).contains("has not completed");
    }

    @Test
    void indexMustIncreaseAndTimeMustNotGoBack() {
        assertThat(refused(INVOKE_X1 + OK_X1.replace("\"index\":1", "\"index\":0")).reason()).contains("does not increase");
        assertThat(refused(INVOKE_X1 + OK_X1.replace("\"time\":20", "\"time\":5")).reason()).contains("is before");
    }

    // Timestamps: a history that claims the timestamp rules apply but cannot be judged by them is refused.

    private static final String INVOKE_STRONG_RX = INVOKE_X1.replace("[\"append\",\"x\",1]", "[\"r\",\"x\",null]")
            .replace("}\n", ",\"readMode\":\"strong\"}\n");
    private static final String OK_RX = OK_X1.replace("[\"append\",\"x\",1]", "[\"r\",\"x\",[]]");

    private static String with(String line, String fields) {
        return line.replace("}\n", "," + fields + "}\n");
    }

    @Test
    void aReadModeWithoutATimestampOnTheOkIsMalformed() {
        HistoryFormatException e = refused(INVOKE_STRONG_RX + OK_RX);
        assertThat(e.lineNumber()).isEqualTo(2);
        assertThat(e.reason()).isEqualTo("ok without commitTs or readTs, but its invoke on line 1 has readMode strong,"
                + " which needs one (the timestamp rules cannot judge it)");
        String staleInvoke = INVOKE_STRONG_RX.replace("strong", "stale");
        assertThat(refused(staleInvoke + OK_RX).reason()).contains("has readMode stale, which needs one");
        String rwInvoke = with(INVOKE_X1, "\"readMode\":\"strong\"");
        assertThat(refused(rwInvoke + OK_X1).lineNumber()).isEqualTo(2);
    }

    @Test
    void aReadTimestampNeedsAReadModeAndNoAppends() {
        String plainRead = INVOKE_STRONG_RX.replace(",\"readMode\":\"strong\"", "");
        assertThat(refused(plainRead + with(OK_RX, "\"readTs\":5")).reason())
                .isEqualTo("readTs without a readMode on its invoke on line 1 (strong or stale: whether real time binds the read)");
        String rwInvoke = with(INVOKE_X1, "\"readMode\":\"strong\"");
        assertThat(refused(rwInvoke + with(OK_X1, "\"readTs\":5")).reason())
                .startsWith("readTs on a transaction that appends");
    }

    @Test
    void timestampsAndModesThatContradictTheOperationAreMalformed() {
        assertThat(refused(with(INVOKE_X1, "\"commitTs\":5")).reason())
                .isEqualTo("commitTs on an invoke; timestamps belong on ok and info completions");
        assertThat(refused(INVOKE_X1 + OK_X1.replace("\"ok\"", "\"fail\"").replace("}\n", ",\"commitTs\":5}\n"))
                .reason()).startsWith("commitTs on a fail");
        assertThat(refused(INVOKE_STRONG_RX + with(OK_RX, "\"commitTs\":5,\"readTs\":5")).reason())
                .startsWith("has both commitTs and readTs");
        assertThat(refused(INVOKE_STRONG_RX.replace("strong", "eventual")).reason())
                .isEqualTo("unknown readMode \"eventual\" (expected \"strong\" or \"stale\")");
        assertThat(refused(INVOKE_STRONG_RX + with(OK_RX, "\"readTs\":\"5\"")).reason())
                .startsWith("field 'readTs' must be an integer");
        String staleInvoke = INVOKE_STRONG_RX.replace("strong", "stale");
        assertThat(refused(staleInvoke + with(OK_RX, "\"commitTs\":5")).reason())
                .isEqualTo("commitTs, but its invoke on line 1 has readMode stale, which only a read-only transaction has");
        assertThat(refused(INVOKE_STRONG_RX + with(OK_RX, "\"readMode\":\"stale\",\"readTs\":5")).reason())
                .isEqualTo("readMode stale differs from strong on its invoke on line 1");
    }

    @Test
    void aTimestampedHistoryThatFollowsTheRulesIsRead() throws Exception {
        CheckResult r = new Checker(Checker.Limits.DEFAULT, System::nanoTime).check(HistorySource.ofString(
                INVOKE_STRONG_RX + with(OK_RX, "\"readMode\":\"strong\",\"readTs\":5")));
        assertThat(r.valid()).isTrue();
        assertThat(r.stats().timestamped()).isEqualTo(1);
    }
}
