package dev.duet.engine.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.tensor.ComputePool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The real stories260K model (../shared/models, kept outside the repository) must reproduce the
 * reference greedy output written down in ../shared/models/README.md, which comes from an
 * independent C implementation.
 */
class Stories260kReferenceTest {

  static Path modelPath() {
    String shared = System.getProperty("duet.shared.dir", "../../shared");
    return Path.of(shared, "models", "stories260K.gguf");
  }

  @Test
  void greedyOutputMatchesTheReferenceImplementation() {
    Path path = modelPath();
    assumeTrue(
        Files.isRegularFile(path),
        "SKIPPED: " + path.toAbsolutePath() + " is absent, so the reference check cannot run");
    try (ComputePool pool = new ComputePool(2);
        LlamaModel model = LlamaModel.load(path, pool);
        InferenceEngine engine = InferenceEngine.create(model, EngineOptions.defaults())) {
      int[] prompt = model.tokenizer().encode("Once upon a time", true, false);
      assertThat(prompt).containsExactly(1, 403, 407, 261, 378);

      List<Integer> ids = new ArrayList<>();
      Generation g =
          engine.generate(
              "ref",
              prompt,
              SamplingParams.greedy(32),
              512,
              e -> {
                if (e.token() >= 0) {
                  ids.add(e.token());
                }
              });
      assertThat(ids)
          .containsExactly(
              432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410,
              408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394);
      assertThat(g.text())
          .startsWith(
              ", there was a little girl named Lily. She loved to play outside in the park. One"
                  + " day, she saw");
      assertThat(engine.cache().freeBlocks()).isEqualTo(engine.cache().totalBlocks());
    }
  }
}
