package io.gnomon.clockd.cli;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;

/** clockd --print: short lines every second, the reason when it changes; --help names the journal's default. */
class PrintLinesTest {
    private static final long T0 = 1_796_635_730_000_000_000L; // 2026-12-07T09:28:50Z
    private static final String NO_SOURCE = "no time source configured: the local system clock is assumed within "
            + "±1000.000 ms of true time (unverified; configure NTP servers)";

    private static TimeInterval at(long secondsAfterT0) {
        return TimeInterval.around(T0 + secondsAfterT0 * 1_000_000_000L, 1_000_000_000L);
    }

    @Test
    void theReasonIsPrintedFirstAndWhenItChanges() {
        PrintLines lines = new PrintLines();
        assertThat(lines.next(at(0), ClockStatus.UNVERIFIED, NO_SOURCE))
                .isEqualTo("2026-12-07T09:28:50Z ± 1000.000 ms  UNVERIFIED  (" + NO_SOURCE + ")");
        String steady = lines.next(at(1), ClockStatus.UNVERIFIED, NO_SOURCE);
        assertThat(steady).isEqualTo("2026-12-07T09:28:51Z ± 1000.000 ms  UNVERIFIED");
        assertThat(steady.length()).as("a steady second's line stays short").isLessThan(60);
        assertThat(lines.next(at(2), ClockStatus.SYNCHRONIZED, "3 of 3 sources agree"))
                .endsWith("  SYNCHRONIZED  (3 of 3 sources agree)");
        assertThat(lines.next(at(3), ClockStatus.SYNCHRONIZED, "3 of 3 sources agree")).endsWith("  SYNCHRONIZED");
        assertThat(lines.next(at(4), ClockStatus.SYNCHRONIZED, "2 of 3 sources agree"))
                .as("a new reason under the same status is printed").endsWith("  SYNCHRONIZED  (2 of 3 sources agree)");
    }

    @Test
    void helpNamesTheJournalsDefaultDirectory() {
        String help = new CommandLine(new ClockdMain()).getUsageMessage(CommandLine.Help.Ansi.OFF).replaceAll("\\s+", " ");
        assertThat(help).contains("--journal-dir=DIR journal directory, relative to the working directory (default"
                + " ./journal; '' disables)");
    }
}
