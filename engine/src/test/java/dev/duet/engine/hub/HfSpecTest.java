package dev.duet.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HfSpecTest {

  @Test
  void aRepositorySpecDefaultsToMain() {
    HfSpec spec = HfSpec.parse("hf:TinyLlama/TinyLlama-1.1B-Chat-v1.0");
    assertThat(spec.org()).isEqualTo("TinyLlama");
    assertThat(spec.repo()).isEqualTo("TinyLlama-1.1B-Chat-v1.0");
    assertThat(spec.path()).isEmpty();
    assertThat(spec.isFile()).isFalse();
    assertThat(spec.revision()).isEqualTo("main");
    assertThat(spec.repoId()).isEqualTo("TinyLlama/TinyLlama-1.1B-Chat-v1.0");
  }

  @ParameterizedTest
  @CsvSource({
    "hf:org/repo/model.Q4_0.gguf, model.Q4_0.gguf, main",
    "hf:org/repo/sub/dir/model.gguf@v1.0, sub/dir/model.gguf, v1.0",
    "hf:org/repo/model.gguf@0123456789abcdef0123456789abcdef01234567, model.gguf,"
        + " 0123456789abcdef0123456789abcdef01234567",
    "hf:org/repo/a@b.gguf@main, a@b.gguf, main",
  })
  void aFileSpecNamesThePathAndRevision(String text, String path, String revision) {
    HfSpec spec = HfSpec.parse(text);
    assertThat(spec.path()).contains(path);
    assertThat(spec.revision()).isEqualTo(revision);
    assertThat(HfSpec.parse(spec.toString())).isEqualTo(spec);
  }

  @Test
  void aRevisionMayContainSlashes() {
    HfSpec spec = HfSpec.parse("hf:org/repo@refs/pr/1");
    assertThat(spec.path()).isEmpty();
    assertThat(spec.revision()).isEqualTo("refs/pr/1");
    assertThat(spec.revisionIsCommit()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "hf:",
        "hf:org",
        "hf:org/",
        "hf:/repo",
        "hf:org/repo/",
        "hf:org/repo@",
        "hf:org/repo/../secret",
        "hf:org/repo//x.gguf",
        "hf:org/re po",
        "hf:org/repo@../../x",
        "hf:-org/repo"
      })
  void malformedSpecsAreRejectedWithTheExpectedForm(String text) {
    assertThatThrownBy(() -> HfSpec.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + text + "'")
        .hasMessageContaining("hf:ORG/REPO[/PATH][@REVISION]");
  }

  @Test
  void onlyHfPrefixedSpecsAreHubSpecs() {
    assertThat(HfSpec.isHubSpec("hf:a/b")).isTrue();
    assertThat(HfSpec.isHubSpec("synth:tiny")).isFalse();
    assertThat(HfSpec.isHubSpec("models/hf:x.gguf")).isFalse();
    assertThatThrownBy(() -> HfSpec.parse("synth:tiny"))
        .hasMessageContaining("does not start with hf:");
  }

  @Test
  void theConstructorValidatesEachField() {
    assertThatThrownBy(() -> new HfSpec("org", "repo", Optional.of("/abs"), "main"))
        .hasMessageContaining("bad path '/abs'");
    assertThatThrownBy(() -> new HfSpec("org", "", Optional.empty(), "main"))
        .hasMessageContaining("bad REPO ''");
    assertThatThrownBy(() -> new HfSpec("org", "repo", Optional.empty(), "a b"))
        .hasMessageContaining("bad revision 'a b'");
  }
}
