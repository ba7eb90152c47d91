package dev.duet.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HubConfigTest {
  static final Path CACHE = Path.of("/tmp/duet-cache");

  @Test
  void anEmptyEnvironmentMeansTheRealHubOnlineWithoutAToken() {
    HubConfig c = HubConfig.fromEnvironment(Map.of(), CACHE);
    assertThat(c.endpoint()).isEqualTo(URI.create("https://huggingface.co"));
    assertThat(c.token()).isEmpty();
    assertThat(c.offline()).isFalse();
    assertThat(c.cacheDir()).isEqualTo(CACHE.resolve("hub"));
  }

  @Test
  void theEnvironmentSetsEndpointTokenAndOfflineMode() {
    HubConfig c =
        HubConfig.fromEnvironment(
            Map.of(
                "HF_ENDPOINT", "https://hf-mirror.example/",
                "HF_TOKEN", " hf_abc ",
                "HF_HUB_OFFLINE", "YES"),
            CACHE);
    assertThat(c.endpoint()).isEqualTo(URI.create("https://hf-mirror.example"));
    assertThat(c.token()).contains("hf_abc");
    assertThat(c.offline()).isTrue();
    assertThat(c.toString()).doesNotContain("hf_abc");
  }

  @Test
  void offlineIsOnlyTheUsualTrueWords() {
    assertThat(HubConfig.fromEnvironment(Map.of("HF_HUB_OFFLINE", "0"), CACHE).offline()).isFalse();
    assertThat(HubConfig.fromEnvironment(Map.of("HF_HUB_OFFLINE", "on"), CACHE).offline()).isTrue();
  }

  @Test
  void aBadEndpointIsRejectedNamingIt() {
    assertThatThrownBy(() -> HubConfig.fromEnvironment(Map.of("HF_ENDPOINT", "ftp://x"), CACHE))
        .hasMessageContaining("ftp://x");
    assertThatThrownBy(() -> HubConfig.fromEnvironment(Map.of("HF_ENDPOINT", "not a url"), CACHE))
        .hasMessageContaining("HF_ENDPOINT")
        .hasMessageContaining("not a url");
  }
}
