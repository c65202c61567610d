package io.gnomon.clockd;

import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.publish.FaultingSink;
import io.gnomon.clockd.testing.ChronyServer;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.testing.FaultScript;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.FluentWait;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * clockd's page in a real browser: headless Chromium (Debian's chromium and chromium-driver, driven by
 * Selenium) opens the page of a clockd fed by three chronyd servers on loopback and a falseticker. The charts
 * draw points, the falseticker's interval lies outside the majority's, and when the fault script flips the
 * status the page shows the new status and its event within a few seconds. Screenshots go to
 * target/clockd-page-*.png (docs/img/clockd-page.png is one of them).
 */
class ClockdPageChromiumTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target");
    /** What "a few seconds" means for the page to show a change. */
    static final Duration FEW_SECONDS = Duration.ofSeconds(5);
    /**
     * Extra data the page collects before and after the flip, for a screenshot worth showing: at least this many more
     * ε points, one a second or more ({@code -Dgnomon.pageTest.dwellSeconds=40} made docs/img/clockd-page.png); 0 in
     * the suite.
     */
    static final int DWELL_POINTS = Integer.getInteger("gnomon.pageTest.dwellSeconds", 0);
    @TempDir Path dir;

    @Test
    void thePageDrawsTheClockAndShowsAStatusFlipWithItsEvent() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "chromium and chromedriver are not installed: bin/test installs Debian's chromium and chromium-driver");
        assumeTrue(ChronyServer.available(), "chronyd is not installed: bin/test installs Debian's chrony package");
        List<AutoCloseable> started = new ArrayList<>();
        WebDriver browser = null;
        try {
            List<String> servers = new ArrayList<>(ChronyServer.startThreeOnLoopback(dir.resolve("chrony"), started));
            FakeNtpServer liar = FakeNtpServer.start();
            started.add(liar);
            liar.setOffset(Duration.ofMillis(3));
            servers.add("127.0.0.1:" + liar.port());
            DaemonConfig c = LoopbackConfig.of(dir.resolve("segment"), servers);
            c.journal.dir = dir.resolve("journal").toString();
            // the script's clock stands still until the test moves it past 1 s
            AtomicLong scriptNanos = new AtomicLong();
            Clockd clockd = Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM, FaultingSink.Injection.startingNow(
                    FaultScript.parse("at 1s for 600s status UNSYNCHRONIZED\n"), scriptNanos::get));
            started.add(clockd);
            ClockdEndToEndTest.awaitEstimate(clockd, e -> e.snapshot().status() == ClockStatus.SYNCHRONIZED
                    && e.sources().get(3).falseticker(), Duration.ofSeconds(30));

            browser = chromium();
            browser.get("http://127.0.0.1:" + clockd.metricsPort() + "/");
            FluentWait<WebDriver> wait = waitFor(browser, Duration.ofSeconds(30));
            wait.until(b -> "SYNCHRONIZED".equals(b.findElement(By.id("status")).getAttribute("data-status")));
            wait.until(b -> intAttribute(b, "data-eps-points") >= 20 && intAttribute(b, "data-offset-points") >= 20);
            String liarName = clockd.daemon().latest().sources().get(3).name();
            wait.until(b -> "falseticker".equals(b.findElement(By.cssSelector("tr[data-source='" + liarName + "']"))
                    .getAttribute("data-state")));
            // uPlot holds the points it drew: the ε series and, on the offset chart, one series per source
            JavascriptExecutor js = (JavascriptExecutor) browser;
            assertThat(((Number) js.executeScript("return document.querySelectorAll('.uplot canvas').length")).intValue())
                    .isEqualTo(2);
            // the falseticker's interval bar lies wholly outside the majority's
            Boolean outside = (Boolean) js.executeScript("""
                    const row = document.querySelector(`tr[data-source='${arguments[0]}']`);
                    const own = row.querySelector('.own').getBoundingClientRect();
                    const maj = row.querySelector('.majority').getBoundingClientRect();
                    return own.left > maj.right || own.right < maj.left;""", liarName);
            assertThat(outside).as("falseticker's interval outside the majority's").isTrue();
            assertThat(browser.findElement(By.id("headline")).getText()).isEqualTo("status: SYNCHRONIZED");
            screenshot(browser, "synchronized");
            dwell(browser, DWELL_POINTS);

            scriptNanos.set(1_500_000_000L);
            waitFor(browser, FEW_SECONDS).until(b ->
                    "UNSYNCHRONIZED".equals(b.findElement(By.id("status")).getAttribute("data-status")));
            waitFor(browser, FEW_SECONDS).until(b -> b.findElements(By.cssSelector("#events li[data-kind='status']"))
                    .stream().anyMatch(li -> li.getText().contains("SYNCHRONIZED → UNSYNCHRONIZED")));
            assertThat(browser.findElement(By.id("headline")).getText()).isEqualTo("status: UNSYNCHRONIZED (not usable)");
            assertThat(browser.findElement(By.id("why")).getText()).startsWith("why: fault injected (status UNSYNCHRONIZED)");
            assertThat(browser.findElement(By.id("meaning")).getText()).startsWith("clockd runs but has no majority");
            dwell(browser, DWELL_POINTS / 4);
            screenshot(browser, "status-flip");

            // an earlier range, from the journal: the same points and the flip, in buckets
            browser.findElement(By.cssSelector("button[data-range='hour']")).click();
            wait.until(b -> ((String) ((JavascriptExecutor) b).executeScript(
                    "return document.getElementById('rangeNote').textContent")).startsWith("one point per"));
            assertThat(intAttribute(browser, "data-eps-points")).isPositive();
            screenshot(browser, "hour");
        } finally {
            if (browser != null) {
                browser.quit();
            }
            for (int i = started.size() - 1; i >= 0; i--) {
                started.get(i).close();
            }
        }
    }

    static WebDriver chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1700", "--force-device-scale-factor=1");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    /** Waits until the page has drawn {@code points} more ε points (a condition, not a fixed sleep); 0 returns at once. */
    static void dwell(WebDriver browser, int points) {
        if (points <= 0) {
            return;
        }
        int target = intAttribute(browser, "data-eps-points") + points;
        waitFor(browser, Duration.ofSeconds(10L * points)).until(b -> intAttribute(b, "data-eps-points") >= target);
    }

    static int intAttribute(WebDriver b, String name) {
        String v = b.findElement(By.tagName("body")).getAttribute(name);
        return v == null || v.isEmpty() ? 0 : Integer.parseInt(v);
    }

    static void screenshot(WebDriver browser, String name) throws Exception {
        File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Files.createDirectories(SCREENSHOTS);
        Files.copy(shot.toPath(), SCREENSHOTS.resolve("clockd-page-" + name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * A wait that also retries when the page redraws an element between finding it and reading it: the live page
     * rebuilds its source rows on updates, so a found row can go stale (StaleElementReferenceException, seen once).
     */
    private static FluentWait<WebDriver> waitFor(WebDriver browser, Duration timeout) {
        return new WebDriverWait(browser, timeout).ignoring(StaleElementReferenceException.class);
    }
}
