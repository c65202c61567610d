package io.gnomon.clockd.sim;

import io.gnomon.truetime.ClockStatus;
import org.HdrHistogram.Histogram;

import java.util.List;
import java.util.Locale;

/**
 * The simulator's results as markdown and as an SVG plot. Both are functions of the results only (no dates,
 * no timings), so the same seeds give the same bytes.
 */
final class SimReport {
    private SimReport() {
    }

    /** The one command that reruns exactly {@code seed} of {@code scenario}. */
    static String replayCommand(Scenario scenario, long seed, long durationSeconds, int samplesPerPublish) {
        Scenario named = Scenario.named(scenario.baseName);
        return "bin/clock-sim --replay " + seed + " --scenario " + scenario.baseName + " --duration-seconds "
                + durationSeconds + " --samples-per-publish " + samplesPerPublish
                + (scenario.pollIntervalNanos != named.pollIntervalNanos
                        ? " --poll-interval-ms " + scenario.pollIntervalNanos / Scenario.MS : "")
                + (scenario.maxDriftPpm != named.maxDriftPpm ? " --max-drift-ppm " + scenario.maxDriftPpm : "")
                + (scenario.measurementBoundScale != 1 ? " --break-bounds " + scenario.measurementBoundScale : "");
    }

    static String markdown(List<RunResult> results, String command) {
        StringBuilder md = new StringBuilder();
        RunResult any = results.get(0);
        md.append("# Clock simulator: soundness and tightness of the bound\n\n");
        md.append("Command: `").append(command).append("`\n\n");
        md.append(String.format(Locale.ROOT, "Seeds %d to %d per scenario, %d simulated s per seed, %d reader "
                        + "instants checked per published snapshot (the last at the next publish, the most aged).\n\n",
                any.firstSeed, any.firstSeed + any.runs - 1, any.durationSeconds, any.samplesPerPublish));

        long soundSamples = 0;
        long soundViolations = 0;
        for (RunResult r : results) {
            if (!r.scenario.expectViolations) {
                soundSamples += r.samples;
                soundViolations += r.violations;
            }
        }
        md.append("## Soundness\n\n");
        md.append(String.format(Locale.ROOT, "**%d violations in %,d checked samples** across the scenarios that "
                + "keep the daemon's assumptions (controls excluded).\n\n", soundViolations, soundSamples));
        md.append("| scenario | seeds | simulated h | samples checked | violations | publishes SYNCHRONIZED / FREE_RUNNING / UNSYNCHRONIZED | publishes with a falseticker |\n");
        md.append("|---|---:|---:|---:|---:|---|---:|\n");
        for (RunResult r : results) {
            md.append(String.format(Locale.ROOT, "| %s%s | %d | %.1f | %,d | %,d | %,d / %,d / %,d | %,d |\n",
                    r.scenario.name(), r.scenario.expectViolations ? " (control)" : "", r.runs,
                    r.runs * r.durationSeconds / 3600.0, r.samples, r.violations,
                    r.statusCounts[ClockStatus.SYNCHRONIZED.ordinal()], r.statusCounts[ClockStatus.FREE_RUNNING.ordinal()],
                    r.statusCounts[ClockStatus.UNSYNCHRONIZED.ordinal()], r.publishesWithFalsetickers));
        }

        md.append("\n## Tightness while SYNCHRONIZED\n\n");
        md.append("ε is the reader's half-width at the instant it reads; error is |midpoint - true time| at that "
                + "instant. The floor, per sample, is the best honest source's latest single exchange: half its round "
                + "trip plus what the server may be off by as it advertises it (root delay / 2 + root dispersion + one "
                + "tick; a PTP source's own bound) — what one fresh exchange proves, before any aging at maxDrift. "
                + "Target: median ε within 2x of the median floor.\n\n");
        md.append("| scenario | ε p50 | ε p90 | ε p99 | error p50 | error p90 | error p99 | ε p50 / error p50 | floor p50 | ε p50 / floor p50 | within 2x |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (RunResult r : results) {
            Histogram e = r.epsilonSynchronized;
            Histogram a = r.errorSynchronized;
            if (e.getTotalCount() == 0) {
                md.append("| ").append(r.scenario.name()).append(" | no synchronized samples | | | | | | | | | |\n");
                continue;
            }
            long e50 = e.getValueAtPercentile(50);
            long a50 = a.getValueAtPercentile(50);
            long f50 = r.floorAtSample.getTotalCount() == 0 ? 0 : r.floorAtSample.getValueAtPercentile(50);
            double ratioFloor = f50 == 0 ? Double.NaN : (double) e50 / f50;
            String verdict = r.scenario.expectViolations ? "(control)" : ratioFloor <= 2 ? "yes" : "**no**";
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %.2f | %s |\n",
                    r.scenario.name(), ns(e50), ns(e.getValueAtPercentile(90)), ns(e.getValueAtPercentile(99)),
                    ns(a50), ns(a.getValueAtPercentile(90)), ns(a.getValueAtPercentile(99)),
                    (double) e50 / Math.max(1, a50), ns(f50), ratioFloor, verdict));
        }

        md.append("\n## Free-running samples\n\n");
        md.append("| scenario | samples | ε p50 | ε p99 | ε max | error p99 | error max |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for (RunResult r : results) {
            Histogram e = r.epsilonFreeRunning;
            if (e.getTotalCount() == 0) {
                continue;
            }
            Histogram a = r.errorFreeRunning;
            md.append(String.format(Locale.ROOT, "| %s | %,d | %s | %s | %s | %s | %s |\n", r.scenario.name(),
                    e.getTotalCount(), ns(e.getValueAtPercentile(50)), ns(e.getValueAtPercentile(99)), ns(e.getMaxValue()),
                    ns(a.getValueAtPercentile(99)), ns(a.getMaxValue())));
        }

        md.append("\n## Exchanges\n\n");
        md.append("| scenario | NTP exchanges | lost | timed out | rejected | measurements (NTP + PTP + chrony) | honest delay p50 | p99 | single-exchange floor p50 | oscillator steps | server steps | realtime steps (reported) | realtime-based measurements voided |\n");
        md.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (RunResult r : results) {
            md.append(String.format(Locale.ROOT, "| %s | %,d | %,d | %,d | %s | %,d | %s | %s | %s | %,d | %,d | %,d (%,d) | %,d |\n",
                    r.scenario.name(), r.exchanges, r.exchangesLost, r.exchangesTimedOut,
                    r.rejected.isEmpty() ? "0" : r.rejected.toString(), r.measurements,
                    r.delay.getTotalCount() == 0 ? "-" : ns(r.delay.getValueAtPercentile(50)),
                    r.delay.getTotalCount() == 0 ? "-" : ns(r.delay.getValueAtPercentile(99)),
                    r.exchangeFloor.getTotalCount() == 0 ? "-" : ns(r.exchangeFloor.getValueAtPercentile(50)),
                    r.frequencySteps, r.serverSteps, r.realtimeSteps, r.realtimeStepsReported, r.realtimeStepVoided));
        }

        md.append("\n## Violations\n\n");
        boolean anyViolation = false;
        for (RunResult r : results) {
            if (r.violations == 0) {
                continue;
            }
            anyViolation = true;
            md.append(String.format(Locale.ROOT, "### %s%s: %,d violations in %,d samples, seeds %s\n\n",
                    r.scenario.name(), r.scenario.expectViolations ? " (control: expected)" : "",
                    r.violations, r.samples, seedList(r.violationsBySeed.keySet())));
            for (RunResult.SeededViolation v : r.violationDetails.subList(0, Math.min(5, r.violationDetails.size()))) {
                md.append("- seed ").append(v.seed()).append(", ").append(v.violation().describe()).append("\n  replay: `")
                        .append(replayCommand(r.scenario, v.seed(), r.durationSeconds, r.samplesPerPublish)).append("`\n");
            }
            md.append("\n");
        }
        if (!anyViolation) {
            md.append("None.\n\n");
        }
        for (RunResult r : results) {
            if (r.scenario.expectViolations) {
                md.append(String.format(Locale.ROOT, "Control `%s`: %s.\n\n", r.scenario.name(), r.violations > 0
                        ? "violations found, as expected: the checker fails when the assumption is broken"
                        : "**no violation found: the control did not fail, so the checker proved nothing**"));
            }
        }

        md.append("## Scenarios\n\n");
        for (RunResult r : results) {
            md.append("- `").append(r.scenario.name()).append("`: ").append(r.scenario.description()).append("\n");
        }
        return md.toString();
    }

    private static String seedList(java.util.Set<Long> seeds) {
        List<Long> list = List.copyOf(seeds);
        return list.size() <= 10 ? list.toString()
                : list.subList(0, 10).toString().replace("]", ", ... (" + list.size() + " seeds)]");
    }

    /** Nanoseconds with a unit, three significant digits. */
    static String ns(long nanos) {
        double v = nanos;
        if (Math.abs(v) < 1e3) {
            return nanos + " ns";
        }
        if (Math.abs(v) < 1e6) {
            return sig(v / 1e3) + " µs";
        }
        if (Math.abs(v) < 1e9) {
            return sig(v / 1e6) + " ms";
        }
        return sig(v / 1e9) + " s";
    }

    private static String sig(double v) {
        if (v >= 100) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (v >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    // --- SVG: per scenario, the CDFs of ε and of the actual error (log time axis), and the floor ---

    private static final int PANEL_W = 345;
    private static final int PANEL_H = 210;
    private static final int COLUMNS = 4;
    private static final double LOG_MIN = 1; // 10 ns
    private static final double LOG_MAX = 10; // 10 s

    static String svg(List<RunResult> results) {
        int rows = (results.size() + COLUMNS - 1) / COLUMNS;
        int width = COLUMNS * PANEL_W + 20;
        int height = rows * PANEL_H + 70;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"10\">\n", width, height));
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        s.append("<text x=\"10\" y=\"18\" font-size=\"13\">Clock simulator: CDF of ε (blue) and of the actual error "
                + "|midpoint - true time| (orange) per checked sample; dashed: median floor; grey: ε while FREE_RUNNING</text>\n");
        for (int i = 0; i < results.size(); i++) {
            int x0 = 10 + (i % COLUMNS) * PANEL_W;
            int y0 = 40 + (i / COLUMNS) * PANEL_H;
            panel(s, results.get(i), x0, y0);
        }
        s.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">x: nanoseconds, log scale (10 ns to 10 s); "
                + "y: fraction of samples at or below</text>\n", height - 10));
        s.append("</svg>\n");
        return s.toString();
    }

    private static void panel(StringBuilder s, RunResult r, int x0, int y0) {
        int left = x0 + 30;
        int top = y0 + 18;
        int w = PANEL_W - 45;
        int h = PANEL_H - 50;
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\"><tspan font-size=\"11\" font-weight=\"bold\">"
                        + "%s%s</tspan> %,d samples, %,d violations</text>\n", left, y0 + 12, r.scenario.name(),
                r.scenario.expectViolations ? " [control]" : "", r.samples, r.violations));
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                + "stroke=\"#999\"/>\n", left, top, w, h));
        String[] labels = {"10ns", "100ns", "1µs", "10µs", "100µs", "1ms", "10ms", "100ms", "1s", "10s"};
        for (int d = 1; d <= 10; d++) {
            double x = left + (d - LOG_MIN) / (LOG_MAX - LOG_MIN) * w;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n",
                    x, top, x, top + h));
            if (d % 2 == 1) {
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                        x, top + h + 12, labels[d - 1]));
            }
        }
        for (int q = 0; q <= 4; q++) {
            double y = top + h - q / 4.0 * h;
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
                    left - 3, y + 3, q / 4.0));
        }
        cdf(s, r.epsilonFreeRunning, left, top, w, h, "#aaaaaa");
        cdf(s, r.errorSynchronized, left, top, w, h, "#e6791a");
        cdf(s, r.epsilonSynchronized, left, top, w, h, "#1f5fbf");
        if (r.floorAtSample.getTotalCount() > 0) {
            double x = xOf(r.floorAtSample.getValueAtPercentile(50), left, w);
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\" "
                    + "stroke-dasharray=\"4,3\"/>\n", x, top, x, top + h));
        }
    }

    private static void cdf(StringBuilder s, Histogram hist, int left, int top, int w, int h, String color) {
        if (hist.getTotalCount() == 0) {
            return;
        }
        StringBuilder points = new StringBuilder();
        for (int permille = 0; permille <= 1000; permille += 5) {
            double p = permille == 0 ? 0.001 : permille / 10.0;
            long v = hist.getValueAtPercentile(p);
            double x = xOf(v, left, w);
            double y = top + h - permille / 1000.0 * h;
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        s.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\" points=\"")
                .append(points.toString().strip()).append("\"/>\n");
    }

    private static double xOf(long nanos, int left, int w) {
        double lg = Math.log10(Math.max(1, nanos));
        lg = Math.max(LOG_MIN, Math.min(LOG_MAX, lg));
        return left + (lg - LOG_MIN) / (LOG_MAX - LOG_MIN) * w;
    }
}
