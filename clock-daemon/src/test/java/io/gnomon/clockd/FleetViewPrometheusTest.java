package io.gnomon.clockd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.testing.ChronyServer;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.clockd.testing.PrometheusServer;
import io.gnomon.truetime.ClockStatus;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The fleet view (deploy/prometheus, deploy/grafana) against the real things: a real Prometheus scrapes a clockd
 * fed by three chronyd servers on loopback, a liar (a falseticker) and a server whose every reply is rejected (a
 * lost source). Every PromQL expression of the rules and of the Grafana dashboard runs through Prometheus' HTTP
 * API; every metric they name must exist, and each returns data unless it is an alert a healthy clock must not
 * raise. promtool checks the deployed configuration and rules.
 */
class FleetViewPrometheusTest {
    static final Path DEPLOY = Path.of("..", "deploy").toAbsolutePath().normalize();
    static final Path RULES = DEPLOY.resolve("prometheus/clockd-rules.yml");
    static final Path DASHBOARD = DEPLOY.resolve("grafana/dashboards/gnomon-clocks.json");
    static final Path DATASOURCE = DEPLOY.resolve("grafana/provisioning/datasources/gnomon-prometheus.yml");
    /** Alerts this clockd must not raise: it is synchronized, narrow, fresh, up and was never restarted. */
    static final Set<String> QUIET_ALERTS = Set.of("GnomonClockdDown", "GnomonClockUnusable",
            "GnomonClockEpsilonAboveCeiling", "GnomonClockdRestarted", "GnomonBoundGrowingWithoutSamples",
            "GnomonClockDisrupted");
    /** Alerts the liar and the broken server raise, each for its own source. */
    static final Set<String> RAISED_ALERTS = Set.of("GnomonFalsetickerPresent", "GnomonSourceLost");
    /** Grafana's variables, each replaced by what matches every value (as the dashboard's "All" does). */
    static final Map<String, String> GRAFANA_VARIABLES = Map.of(
            "$__rate_interval", "1m", "$__range", "5m", "$host", ".*", "$source", ".*");
    static final Duration DATA_TIMEOUT = Duration.ofSeconds(60);
    /**
     * For a rate to fall back to 0: a reply that timed out on this shared machine (clockd's 150 ms reply timeout) stays
     * in a 1-minute rate window for a minute.
     */
    static final Duration ZERO_TIMEOUT = Duration.ofSeconds(150);

    static final List<AutoCloseable> started = new ArrayList<>();
    static PrometheusServer prometheus;
    static String healthyName;
    static String liarName;
    static String brokenName;
    @TempDir static Path dir;

    @BeforeAll
    static void startClockdAndPrometheus() throws Exception {
        assumeTrue(PrometheusServer.available(),
                "prometheus and promtool are not installed: bin/test installs Debian's prometheus package");
        assumeTrue(ChronyServer.available(), "chronyd is not installed: bin/test installs Debian's chrony package");
        List<String> servers = new ArrayList<>(ChronyServer.startThreeOnLoopback(dir.resolve("chrony"), started));
        FakeNtpServer liar = FakeNtpServer.start();
        started.add(liar);
        liar.setOffset(Duration.ofSeconds(5));
        FakeNtpServer broken = FakeNtpServer.start();
        started.add(broken);
        broken.setFault(FakeNtpServer.Fault.BAD_TIMESTAMPS);
        servers.add("127.0.0.1:" + liar.port());
        servers.add("127.0.0.1:" + broken.port());
        healthyName = "ntp:" + servers.get(0); // a chronyd server
        liarName = "ntp:" + servers.get(3);
        brokenName = "ntp:" + servers.get(4);

        Clockd clockd = Clockd.start(ClockdEndToEndTest.settings(dir.resolve("clockd"), servers), SystemClocks.SYSTEM);
        started.add(clockd);
        ClockdEndToEndTest.awaitEstimate(clockd, e -> e.snapshot().status() == ClockStatus.SYNCHRONIZED
                && e.sources().get(3).falseticker());

        prometheus = PrometheusServer.start(dir.resolve("prometheus"), String.join("\n",
                "global:",
                "  scrape_interval: 1s",
                "  scrape_timeout: 1s",
                "  evaluation_interval: 1s",
                "rule_files:",
                "  - " + RULES,
                "scrape_configs:",
                "  - job_name: clockd", // the job name the rules select on
                "    static_configs:",
                "      - targets: ['127.0.0.1:" + clockd.metricsPort() + "']",
                ""));
        started.add(prometheus);
        awaitData("up{job=\"clockd\"} == 1");
    }

    @AfterAll
    static void stopAll() {
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                System.err.println("closing " + started.get(i).getClass().getSimpleName() + ": " + e);
            }
        }
        started.clear();
    }

    @Test
    void promtoolAcceptsTheDeployedConfigurationAndRules() throws Exception {
        PrometheusServer.Result config = PrometheusServer.promtool("check", "config",
                DEPLOY.resolve("prometheus/prometheus.yml").toString());
        assertThat(config.exitCode()).as(config.output()).isZero();
        PrometheusServer.Result rules = PrometheusServer.promtool("check", "rules", RULES.toString());
        assertThat(rules.exitCode()).as(rules.output()).isZero();
        assertThat(rules.output()).contains("SUCCESS: " + rules().size() + " rules found");
    }

    @Test
    void everyRuleExpressionEvaluatesOverTheLiveMetrics() throws Exception {
        for (Rule rule : rules()) {
            selectors(rule.expr()).forEach(FleetViewPrometheusTest::awaitData);
            if (QUIET_ALERTS.contains(rule.name())) {
                JsonNode answer = prometheus.query(rule.expr());
                assertThat(answer.path("status").asText()).as(rule + " -> " + answer).isEqualTo("success");
                assertThat(answer.path("data").path("result")).as(rule + " fires on a healthy clock: " + answer).isEmpty();
            } else {
                awaitData(rule.expr());
            }
            if (!rule.alert()) {
                awaitData(rule.name()); // what Prometheus recorded, which the alerts and the dashboard read
            }
        }
        assertThat(rules()).filteredOn(Rule::alert).extracting(Rule::name)
                .containsExactlyInAnyOrderElementsOf(union(QUIET_ALERTS, RAISED_ALERTS));
    }

    @Test
    void prometheusEvaluatesEveryRuleWithoutErrorAndRaisesTheExpectedAlerts() throws Exception {
        AtomicReference<JsonNode> groups = new AtomicReference<>();
        // Wait until every rule has been evaluated at least once; then none may have failed.
        awaitTrue("every rule evaluated", groups, () -> prometheus.get("/api/v1/rules").path("data").path("groups"),
                g -> g.size() == 2 && g.findValues("health").stream().noneMatch(h -> h.asText().equals("unknown")));
        for (JsonNode health : groups.get().findParents("health")) {
            assertThat(health.path("health").asText()).as(health.toString()).isEqualTo("ok");
        }
        AtomicReference<JsonNode> alerts = new AtomicReference<>();
        awaitTrue("the liar and the broken source raise their alerts", alerts,
                () -> prometheus.get("/api/v1/alerts").path("data").path("alerts"),
                a -> a.findValues("alertname").stream().map(JsonNode::asText).toList().containsAll(RAISED_ALERTS));
        for (JsonNode alert : alerts.get()) {
            String name = alert.path("labels").path("alertname").asText();
            assertThat(RAISED_ALERTS).as(alert.toString()).contains(name);
            String source = alert.path("labels").path("source").asText();
            assertThat(source).as(alert.toString())
                    .isEqualTo(name.equals("GnomonFalsetickerPresent") ? liarName : brokenName);
            assertThat(alert.path("labels").path("severity").asText()).isEqualTo("warning");
            assertThat(alert.path("annotations").path("summary").asText()).contains(source);
        }
    }

    @Test
    void everyDashboardExpressionReturnsData() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<String> panelExprs = new ArrayList<>();
        collectPanelExprs(dashboard.path("panels"), panelExprs);
        assertThat(panelExprs).hasSizeGreaterThanOrEqualTo(12);
        for (String expr : panelExprs) {
            awaitData(grafanaToPromql(expr));
        }
        // Template variables list label values of a selector: the selector must have data.
        Pattern labelValues = Pattern.compile("label_values\\((.+),\\s*\\w+\\)");
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            if (variable.path("type").asText().equals("query")) {
                Matcher m = labelValues.matcher(variable.path("query").path("query").asText());
                assertThat(m.matches()).as(variable.toString()).isTrue();
                awaitData(grafanaToPromql(m.group(1)));
            }
        }
        // Annotations mark events (a restart): none happened, so they need only evaluate over existing metrics.
        for (JsonNode annotation : dashboard.path("annotations").path("list")) {
            String expr = grafanaToPromql(annotation.path("expr").asText());
            selectors(expr).forEach(FleetViewPrometheusTest::awaitData);
            assertThat(prometheus.query(expr).path("status").asText()).as(expr).isEqualTo("success");
        }
        // Provisioned as shipped: the dashboard's default datasource is the one the provisioning file defines.
        JsonNode datasource = new YAMLMapper().readTree(DATASOURCE.toFile()).path("datasources").get(0);
        List<String> defaults = new ArrayList<>();
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            if (variable.path("type").asText().equals("datasource")) {
                defaults.add(variable.path("current").path("value").asText());
            }
        }
        assertThat(defaults).containsExactly(datasource.path("uid").asText());
    }

    /**
     * Issue 18: the bad-packet and disruptions panels show 0, not "No data", where nothing went wrong: clockd exports
     * every reason of every configured source, and every disruption kind, from its start. The broken source's
     * rejections show under their reason. The panels' own expressions, with Source set to one source.
     */
    @Test
    void badPacketAndDisruptionPanelsShowZeroWhereNothingWentWrong() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        String rejected = panelExpr(dashboard, "gnomon_samples_rejected_total");
        String disruptions = panelExpr(dashboard, "gnomon_clock_disruptions_total");
        assertThat(rejected).contains("$source");

        String healthy = grafanaToPromql(rejected, Map.of("$source", regexQuote(healthyName)));
        JsonNode zeros = awaitSeries("every reason at 0 for the healthy " + healthyName, healthy, ZERO_TIMEOUT,
                r -> r.size() == RejectReason.values().length && values(r, "reason").values().stream().allMatch(v -> v == 0));
        assertThat(values(zeros, "reason").keySet()).containsExactlyInAnyOrderElementsOf(
                Arrays.stream(RejectReason.values()).map(Enum::name).toList());

        String broken = grafanaToPromql(rejected, Map.of("$source", regexQuote(brokenName)));
        JsonNode counted = awaitSeries("BAD_TIMESTAMPS above 0 for the broken " + brokenName, broken, DATA_TIMEOUT,
                r -> values(r, "reason").getOrDefault("BAD_TIMESTAMPS", 0.0) > 0);
        assertThat(values(counted, "reason")).containsEntry("KISS_OF_DEATH", 0.0).hasSize(RejectReason.values().length);

        // No suspend or realtime step on a healthy host: each kind is there, at 0 (the test cannot suspend the host;
        // ClockdDisruptionTest counts a simulated one).
        JsonNode noDisruption = awaitSeries("every disruption kind at 0", grafanaToPromql(disruptions), ZERO_TIMEOUT,
                r -> r.size() == DisruptionDetector.Kind.values().length
                        && values(r, "kind").values().stream().allMatch(v -> v == 0));
        assertThat(values(noDisruption, "kind").keySet()).containsExactlyInAnyOrderElementsOf(
                Arrays.stream(DisruptionDetector.Kind.values()).map(Enum::name).toList());
    }

    /** The expression of the one dashboard panel that reads {@code metric}. */
    private static String panelExpr(JsonNode dashboard, String metric) {
        List<String> exprs = new ArrayList<>();
        collectPanelExprs(dashboard.path("panels"), exprs);
        List<String> reading = exprs.stream().filter(e -> e.contains(metric)).toList();
        assertThat(reading).as("panels reading " + metric).hasSize(1);
        return reading.get(0);
    }

    /** Each series' value by its {@code label}, from a query's result. */
    private static Map<String, Double> values(JsonNode result, String label) {
        Map<String, Double> byLabel = new java.util.TreeMap<>();
        for (JsonNode series : result) {
            byLabel.put(series.path("metric").path(label).asText(), Double.parseDouble(series.path("value").get(1).asText()));
        }
        return byLabel;
    }

    /** A literal for a Grafana regex variable, as Grafana escapes a single selected value (PromQL string escaping too). */
    private static String regexQuote(String value) {
        return value.replace(".", "\\\\.");
    }

    /** Waits until {@code promql}'s result satisfies {@code done}; returns that result. */
    private static JsonNode awaitSeries(String what, String promql, Duration timeout,
                                        java.util.function.Predicate<JsonNode> done) {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        awaitTrue(what + " from " + promql, last, () -> prometheus.query(promql), timeout,
                a -> a.path("status").asText().equals("success") && done.test(a.path("data").path("result")));
        return last.get().path("data").path("result");
    }

    /** One recording or alerting rule of deploy/prometheus. */
    record Rule(String name, boolean alert, String expr) {
    }

    static List<Rule> rules() throws Exception {
        List<Rule> rules = new ArrayList<>();
        for (JsonNode group : new YAMLMapper().readTree(RULES.toFile()).path("groups")) {
            for (JsonNode r : group.path("rules")) {
                boolean alert = r.has("alert");
                rules.add(new Rule(r.path(alert ? "alert" : "record").asText(), alert, r.path("expr").asText()));
            }
        }
        return rules;
    }

    private static void collectPanelExprs(JsonNode panels, List<String> into) {
        for (JsonNode panel : panels) {
            for (JsonNode target : panel.path("targets")) {
                into.add(target.path("expr").asText());
            }
            collectPanelExprs(panel.path("panels"), into); // panels inside a row
        }
    }

    static String grafanaToPromql(String expr) {
        return grafanaToPromql(expr, Map.of());
    }

    /** Like {@link #grafanaToPromql(String)}, with some variables set to one value instead of "All". */
    static String grafanaToPromql(String expr, Map<String, String> chosen) {
        String promql = expr;
        for (Map.Entry<String, String> v : chosen.entrySet()) {
            promql = promql.replace(v.getKey(), v.getValue());
        }
        for (Map.Entry<String, String> v : GRAFANA_VARIABLES.entrySet()) {
            promql = promql.replace(v.getKey(), v.getValue());
        }
        assertThat(promql).as("a Grafana variable this test does not know: " + expr).doesNotContain("$");
        return promql;
    }

    private static final Pattern NAME_AND_MATCHERS =
            Pattern.compile("(?<![\\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*(\\{[^}]*})?");
    private static final Pattern LABEL_LISTS =
            Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset");

    /**
     * The series selectors (metric name and matchers) in a PromQL expression, e.g. {@code up{job="clockd"}}; none
     * for a constant such as {@code vector(0.005)}.
     */
    static Set<String> selectors(String expr) {
        String s = LABEL_LISTS.matcher(expr.replaceAll("\\[[^]]*]", "")).replaceAll(" ");
        Set<String> out = new LinkedHashSet<>();
        Matcher m = NAME_AND_MATCHERS.matcher(s);
        while (m.find()) {
            String rest = s.substring(m.end()).stripLeading();
            if (!KEYWORDS.contains(m.group(1)) && !(m.group(2) == null && rest.startsWith("("))) {
                out.add(m.group(2) == null ? m.group(1) : m.group(1) + m.group(2));
            }
        }
        return out;
    }

    @Test
    void selectorsAreFoundAmongFunctionsOperatorsAndLabelLists() {
        assertThat(selectors("deriv(gnomon_clock_bound_seconds{job=\"clockd\"}[5m]) > 0 and on(job, instance) "
                + "instance:gnomon_source_sample_age_seconds:min > 30"))
                .containsExactly("gnomon_clock_bound_seconds{job=\"clockd\"}", "instance:gnomon_source_sample_age_seconds:min");
        assertThat(selectors("sum without (status) (a{s=~\"X|Y\"}) > on() group_left() b:c * 1e9 + time()"))
                .containsExactly("a{s=~\"X|Y\"}", "b:c");
    }

    /** Waits until {@code promql} returns at least one series; fails naming the expression and the last answer. */
    static void awaitData(String promql) {
        awaitTrue("data from " + promql, new AtomicReference<>(), () -> prometheus.query(promql),
                a -> a.path("status").asText().equals("success") && !a.path("data").path("result").isEmpty());
    }

    private interface Fetch {
        JsonNode get() throws Exception;
    }

    private static void awaitTrue(String what, AtomicReference<JsonNode> last, Fetch fetch,
                                  java.util.function.Predicate<JsonNode> done) {
        awaitTrue(what, last, fetch, DATA_TIMEOUT, done);
    }

    private static void awaitTrue(String what, AtomicReference<JsonNode> last, Fetch fetch, Duration timeout,
                                  java.util.function.Predicate<JsonNode> done) {
        try {
            await().atMost(timeout).pollInterval(Duration.ofMillis(250)).until(() -> {
                last.set(fetch.get());
                return done.test(last.get());
            });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("no " + what + " within " + timeout.toSeconds() + " s; last answer: "
                    + last.get(), e);
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new LinkedHashSet<>(a);
        u.addAll(b);
        return u;
    }
}
