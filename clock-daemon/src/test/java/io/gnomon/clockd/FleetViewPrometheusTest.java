package io.gnomon.clockd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
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
            "GnomonClockEpsilonAboveCeiling", "GnomonClockdRestarted", "GnomonBoundGrowingWithoutSamples");
    /** Alerts the liar and the broken server raise, each for its own source. */
    static final Set<String> RAISED_ALERTS = Set.of("GnomonFalsetickerPresent", "GnomonSourceLost");
    /** Grafana's variables, each replaced by what matches every value (as the dashboard's "All" does). */
    static final Map<String, String> GRAFANA_VARIABLES = Map.of(
            "$__rate_interval", "1m", "$__range", "5m", "$host", ".*", "$source", ".*");
    static final Duration DATA_TIMEOUT = Duration.ofSeconds(60);

    static final List<AutoCloseable> started = new ArrayList<>();
    static PrometheusServer prometheus;
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
        String promql = expr;
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
        try {
            await().atMost(DATA_TIMEOUT).pollInterval(Duration.ofMillis(250)).until(() -> {
                last.set(fetch.get());
                return done.test(last.get());
            });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("no " + what + " within " + DATA_TIMEOUT.toSeconds() + " s; last answer: "
                    + last.get(), e);
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new LinkedHashSet<>(a);
        u.addAll(b);
        return u;
    }
}
