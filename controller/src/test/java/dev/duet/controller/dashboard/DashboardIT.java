package dev.duet.controller.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.gateway.TestCluster;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.synth.SyntheticHfWriter;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.tensor.ComputePool;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;

/**
 * The {@code /ui} dashboard in headless Chromium against a real controller with real workers (one
 * prefill, two decode): the token prompt, a wrong token, then the instances table, the charts (P:D
 * ratio, arrivals with "no forecast yet", TTFT/TPOT against the SLO lines) and the events, and the
 * page noticing the controller going away. Saves {@code target/ui-screenshot.png}.
 *
 * <p>Needs Debian's {@code chromium} and {@code chromedriver} ({@link Browser}).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DashboardIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir static Path dir;
  static ComputePool pool;
  static LlamaModel model;
  private ChromeDriver browser;

  @BeforeAll
  static void loadModel() throws Exception {
    Path hf = dir.resolve("qwen");
    SyntheticHfWriter.write(
        SyntheticModel.preset("qwen-tiny"), 5, GgmlType.F32, hf, Long.MAX_VALUE);
    pool = new ComputePool(2);
    model = LlamaModel.load(hf, pool);
  }

  @AfterAll
  static void closeModel() {
    model.close();
    pool.close();
  }

  @AfterEach
  void closeBrowser() {
    if (browser != null) {
      browser.quit();
    }
  }

  private static void complete(TestCluster cluster, HttpClient http) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                .header("content-type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"qwen-tiny\",\"prompt\":\"the cat sat\",\"max_tokens\":8,"
                            + "\"temperature\":0,\"ignore_eos\":true}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private static void completeUnchecked(TestCluster cluster, HttpClient http) {
    try {
      complete(cluster, http);
    } catch (Exception e) {
      throw new IllegalStateException("a completion failed: " + e, e);
    }
  }

  private static boolean historyHasLatencies(TestCluster cluster, HttpClient http)
      throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(cluster.uri("/admin/v1/history"))
                .header("Authorization", "Bearer " + TestCluster.ADMIN_TOKEN)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    for (var s : JSON.readTree(r.body()).path("data")) {
      if (s.at("/tpot_ms/count").asLong() > 0) {
        return true;
      }
    }
    return false;
  }

  private void signIn(String token) {
    WebElement field = browser.findElement(By.id("token"));
    field.clear();
    field.sendKeys(token);
    browser.findElement(By.id("connect")).click();
  }

  private static int points(WebDriver b, String chart) {
    String n = b.findElement(By.id(chart)).getDomAttribute("data-points");
    return n == null ? 0 : Integer.parseInt(n);
  }

  private static String status(WebDriver b) {
    return b.findElement(By.id("status")).getDomAttribute("data-state");
  }

  @Test
  void anOperatorSignsInAndSeesTheInstancesTheChartsAndTheEventsThenTheControllerGoingAway()
      throws Exception {
    browser = Browser.start(1280, 1500); // first: where it cannot start, nothing else runs
    TestCluster cluster =
        new TestCluster(
                model, "qwen-tiny", List.of("prefill", "decode", "decode"), 64, Duration.ZERO)
            .startHistory();
    try (cluster) {
      HttpClient http = HttpClient.newHttpClient();
      // A little traffic, two requests at a time over a few samples, so the charts have a shape.
      for (int i = 0; i < 4; i++) {
        var other = CompletableFuture.runAsync(() -> completeUnchecked(cluster, http));
        complete(cluster, http);
        other.join();
        Thread.sleep(100);
      }
      await().atMost(WAIT).until(() -> historyHasLatencies(cluster, http));

      browser.get(cluster.uri("/ui").toString());
      assertThat(browser.getTitle()).isEqualTo("Duet controller");
      assertThat(browser.findElement(By.id("login")).isDisplayed()).isTrue();
      assertThat(browser.findElement(By.id("dashboard")).isDisplayed()).isFalse();

      signIn("not-the-operator-token");
      await().atMost(WAIT).until(() -> "unauthorized".equals(status(browser)));
      WebElement banner = browser.findElement(By.id("banner"));
      assertThat(banner.getDomAttribute("data-kind")).isEqualTo("unauthorized");
      assertThat(banner.getText()).contains("the bearer token is not valid");
      assertThat(browser.findElement(By.id("login")).isDisplayed()).isTrue();

      signIn(TestCluster.ADMIN_TOKEN);
      await()
          .atMost(WAIT)
          .until(
              () ->
                  browser.findElements(By.cssSelector("#instances tbody tr")).size() == 3
                      && points(browser, "chart-ratio") > 1
                      && points(browser, "chart-ttft") > 1
                      && points(browser, "chart-tpot") > 1
                      && points(browser, "chart-arrivals") > 1);
      assertThat(status(browser)).isEqualTo("ok");
      assertThat(browser.findElement(By.id("banner")).isDisplayed()).isFalse();

      List<WebElement> rows = browser.findElements(By.cssSelector("#instances tbody tr"));
      // Workers register concurrently: the table is in registration order, whichever it was.
      assertThat(rows)
          .extracting(
              r ->
                  r.findElement(By.cssSelector("td.id")).getText()
                      + "="
                      + r.findElement(By.cssSelector("td.role")).getText())
          .containsExactlyInAnyOrder("w0=prefill", "w1=decode", "w2=decode");
      assertThat(rows)
          .extracting(r -> r.findElement(By.cssSelector("td.state")).getText())
          .containsOnly("alive");
      assertThat(rows)
          .extracting(r -> r.findElement(By.cssSelector("td.group")).getText())
          .containsOnly("default");
      assertThat(rows.getFirst().findElement(By.cssSelector("td.kv")).getText()).endsWith("/ 64");
      assertThat(rows.getFirst().findElement(By.cssSelector("td.age")).getText()).endsWith(" s");

      assertThat(browser.findElement(By.id("s-instances")).getText()).isEqualTo("3");
      assertThat(browser.findElement(By.id("s-roles")).getText())
          .isEqualTo("1 P · 2 D · 0 both live");
      assertThat(browser.findElement(By.id("s-ratio")).getText()).isEqualTo("0.50");
      assertThat(browser.findElement(By.id("legend-ratio")).getText()).contains("1 P · 2 D");
      assertThat(browser.findElement(By.id("legend-arrivals")).getText())
          .contains("no forecast yet");
      for (String chart : List.of("chart-ttft", "chart-tpot")) {
        assertThat(browser.findElements(By.cssSelector("#" + chart + " line.ref"))).hasSize(1);
        assertThat(browser.findElements(By.cssSelector("#" + chart + " polyline.series")))
            .isNotEmpty();
      }
      assertThat(browser.findElement(By.cssSelector("#chart-ttft .ref-label")).getText())
          .isEqualTo("SLO 2000 ms");
      assertThat(browser.findElements(By.cssSelector("#events li[data-kind=instance_joined]")))
          .hasSize(3);

      Path shot = Path.of("target", "ui-screenshot.png");
      Files.createDirectories(shot.getParent());
      Files.write(shot, browser.getScreenshotAs(OutputType.BYTES));
      assertThat(Files.size(shot)).isGreaterThan(10_000);
    }

    // The controller is gone: the page says so and keeps the last figures.
    await().atMost(WAIT).until(() -> "unreachable".equals(status(browser)));
    assertThat(browser.findElement(By.id("banner")).getText()).startsWith("Controller unreachable");
    assertThat(browser.findElements(By.cssSelector("#instances tbody tr"))).hasSize(3);
  }

  @Test
  void aControllerWithoutInstancesSaysSoInsteadOfDrawingEmptyCharts() throws Exception {
    browser = Browser.start(1280, 900);
    try (TestCluster empty =
        new TestCluster(model, "qwen-tiny", List.of(), 64, Duration.ZERO).startHistory()) {
      browser.get(empty.uri("/ui").toString());
      signIn(TestCluster.ADMIN_TOKEN);
      await().atMost(WAIT).until(() -> "ok".equals(status(browser)));
      await().atMost(WAIT).until(() -> browser.findElement(By.id("no-instances")).isDisplayed());
      assertThat(browser.findElement(By.id("instances")).isDisplayed()).isFalse();
      assertThat(browser.findElement(By.id("s-instances")).getText()).isEqualTo("0");
      assertThat(browser.findElement(By.id("chart-ttft")).getText())
          .isEqualTo("no request finished yet");
      assertThat(browser.findElement(By.id("chart-ratio")).getText())
          .isEqualTo("no decode instance: no P:D ratio");
      // samples of zero arrivals are points too
      await().atMost(WAIT).until(() -> points(browser, "chart-arrivals") > 0);
    }
  }
}
