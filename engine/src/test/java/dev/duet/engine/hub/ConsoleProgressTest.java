package dev.duet.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {
  final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
  long now;

  String printed() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void aTerminalBarIsRedrawnInPlaceAtMostTenTimesASecond() {
    ConsoleProgress p = new ConsoleProgress(out, true, () -> now);
    long mib = 1 << 20;
    p.started("org/repo/m.gguf", 100 * mib, 0);
    for (int i = 1; i <= 100; i++) {
      now += 10_000_000L; // 10 ms per MiB: one second in all
      p.progressed("org/repo/m.gguf", i * mib, 100 * mib);
    }
    p.finished("org/repo/m.gguf", 100 * mib, 100 * mib, now);

    String s = printed();
    assertThat(s).startsWith("duet: downloading org/repo/m.gguf (100.0 MiB)\n");
    assertThat(s.chars().filter(c -> c == '\r').count()).isBetween(10L, 12L);
    assertThat(s).contains("50.0 MiB / 100.0 MiB  50%").contains("104.9 MB/s");
    assertThat(s).endsWith("duet: downloaded org/repo/m.gguf, 100.0 MiB in 1.0 s (104.9 MB/s)\n");
  }

  @Test
  void withoutATerminalItPrintsPlainLinesEveryFewSeconds() {
    ConsoleProgress p = new ConsoleProgress(out, false, () -> now);
    p.started("org/repo/m.gguf", 1000, 400);
    for (int i = 0; i < 12; i++) {
      now += 1_000_000_000L;
      p.progressed("org/repo/m.gguf", 400 + 50 * i, 1000);
    }
    String s = printed();
    assertThat(s).doesNotContain("\r");
    assertThat(s).startsWith("duet: downloading org/repo/m.gguf (1000 B), resuming at 400 B\n");
    assertThat(s.lines().count()).isEqualTo(3); // the start line and one every 5 s
  }

  @Test
  void noticesArePrintedAsTheyCome() {
    new ConsoleProgress(out, false, () -> now).notice("offline: using cached hf:a/b");
    assertThat(printed()).isEqualTo("duet: offline: using cached hf:a/b\n");
  }
}
