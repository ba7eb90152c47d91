package dev.duet.controller.dashboard;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium for {@link DashboardIT}: Debian's {@code chromium} and {@code chromedriver}
 * (packages {@code chromium chromium-driver}), found at {@code /usr/bin} or where {@code
 * DUET_CHROMIUM} and {@code DUET_CHROMEDRIVER} point. Nothing is downloaded: Selenium Manager is
 * bypassed by naming both binaries.
 *
 * <p>When a binary is missing the test is skipped, visibly, with the command that installs it;
 * where {@code DUET_REQUIRE_BROWSER=1} ({@code .ci/run} sets it after installing the packages) it
 * fails instead, so CI cannot pass without having run the browser.
 */
final class Browser {

  static final String REQUIRE_ENV = "DUET_REQUIRE_BROWSER";

  private Browser() {}

  /** A fresh headless Chromium session with a {@code width} x {@code height} window. */
  static ChromeDriver start(int width, int height) {
    Path chromium = find("DUET_CHROMIUM", "/usr/bin/chromium");
    Path driver = find("DUET_CHROMEDRIVER", "/usr/bin/chromedriver");
    List<String> missing = new ArrayList<>();
    if (chromium == null) {
      missing.add("chromium (" + where("DUET_CHROMIUM", "/usr/bin/chromium") + ")");
    }
    if (driver == null) {
      missing.add("chromedriver (" + where("DUET_CHROMEDRIVER", "/usr/bin/chromedriver") + ")");
    }
    if (!missing.isEmpty()) {
      String why =
          "the dashboard's browser test needs "
              + String.join(" and ", missing)
              + ": install Debian's packages with 'apt-get install -y chromium chromium-driver'";
      if (required()) {
        throw new IllegalStateException(why + " (" + REQUIRE_ENV + " is set, as .ci/run sets it)");
      }
      Assumptions.abort(why + "; set " + REQUIRE_ENV + "=1 to make this a failure");
    }
    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox", // CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--lang=en-US",
        "--window-size=" + width + "," + height);
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(driver.toFile())
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(service, options);
  }

  private static boolean required() {
    String v = System.getenv(REQUIRE_ENV);
    return v != null && (v.equals("1") || v.toLowerCase(Locale.ROOT).equals("true"));
  }

  private static Path find(String env, String dflt) {
    String given = System.getenv(env);
    Path p = Path.of(given != null && !given.isBlank() ? given : dflt);
    return Files.isExecutable(p) && !new File(p.toString()).isDirectory() ? p : null;
  }

  private static String where(String env, String dflt) {
    String given = System.getenv(env);
    return given != null && !given.isBlank() ? env + "=" + given : "no " + dflt;
  }
}
