package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The {@code duet} command line, run in-process as {@code main} would run it. */
class DuetCommandTest {

  @TempDir static Path dir;
  static Path tiny;

  /** What one run printed and returned. */
  record Run(int exit, String out, String err) {}

  static Run duet(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = DuetCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @BeforeAll
  static void writeModel() {
    System.setProperty("duet.cache", dir.resolve("cache").toString());
    tiny = dir.resolve("tiny.gguf");
    Run r = duet("model", "synth", "--preset", "tiny", "--seed", "3", "--out", tiny.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(tiny).isRegularFile();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "generate",
        "bench",
        "bench engine",
        "bench serve",
        "bench kv",
        "model",
        "model synth",
        "model inspect",
        "controller",
        "worker",
        "local"
      })
  void everyCommandDescribesItsOptions(String command) {
    String[] args = (command + " --help").trim().split(" ");
    Run r = duet(args);
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("Usage: duet").contains("--help");
  }

  @Test
  void generateJsonReportsIdsTextAndTimings() throws Exception {
    Run r =
        duet(
            "generate",
            "--model",
            tiny.toString(),
            "--prompt",
            "Once upon a time",
            "--max-tokens",
            "12",
            "--ignore-eos",
            "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(r.out());
    assertThat(json.get("prompt_ids").get(0).asInt()).isEqualTo(1);
    assertThat(json.get("generated_ids")).hasSize(12);
    assertThat(json.get("text").isTextual()).isTrue();
    assertThat(json.get("prefill_ms").asDouble()).isPositive();
    assertThat(json.get("decode_tokens_per_s").asDouble()).isPositive();
    // Greedy is the default, so a second run gives the same ids.
    Run again =
        duet(
            "generate",
            "--model",
            tiny.toString(),
            "--prompt",
            "Once upon a time",
            "--max-tokens",
            "12",
            "--ignore-eos",
            "--json");
    assertThat(new ObjectMapper().readTree(again.out()).get("generated_ids"))
        .isEqualTo(json.get("generated_ids"));
  }

  @Test
  void generateStreamsTheReferenceStoryFromTheRealModel() {
    Path model =
        Path.of(
            System.getProperty("duet.shared.dir", "../../shared"), "models", "stories260K.gguf");
    assumeTrue(Files.isRegularFile(model), "SKIPPED: " + model.toAbsolutePath() + " is absent");
    Run r =
        duet(
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "Once upon a time",
            "--max-tokens",
            "32");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .startsWith(", there was a little girl named Lily. She loved to play outside in the park.");
  }

  @Test
  void aSyntheticModelSpecIsWrittenOnceIntoTheCache() {
    Run r =
        duet(
            "generate", "--model", "synth:tiny:5", "--prompt", "hi", "--max-tokens", "3", "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(dir.resolve("cache/synth/tiny-s5-F32.gguf")).isRegularFile();
  }

  @Test
  void aMissingModelFailsWithAMessageThatNamesIt() {
    Run r = duet("generate", "--model", dir.resolve("nope.gguf").toString(), "--prompt", "x");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("nope.gguf").contains("does not exist");
  }

  @Test
  void aCorruptModelFailsWithAMessageThatNamesTheFile() throws Exception {
    Path bad = dir.resolve("bad.gguf");
    Files.write(bad, "GGUF not really".getBytes());
    Run r = duet("generate", "--model", bad.toString(), "--prompt", "x");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("bad.gguf");
  }

  @Test
  void badSamplingOptionsAreRejectedClearly() {
    Run r = duet("generate", "--model", tiny.toString(), "--prompt", "x", "--top-p", "1.5");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("top_p");
  }

  @Test
  void benchEngineJsonHasBandwidthPrefillAndDecodeFigures() throws Exception {
    Run r =
        duet(
            "bench",
            "engine",
            "--model",
            tiny.toString(),
            "--prompts",
            "16",
            "--batches",
            "1,4",
            "--steps",
            "2",
            "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(r.out());
    assertThat(json.get("bandwidth_gbps").asDouble()).isPositive();
    assertThat(json.get("prefill").get(0).get("prompt_tokens").asInt()).isEqualTo(16);
    assertThat(json.get("prefill").get(0).get("tokens_per_s").asDouble()).isPositive();
    assertThat(json.get("decode")).hasSize(2);
    assertThat(json.get("decode").get(1).get("batch").asInt()).isEqualTo(4);
    assertThat(json.get("decode").get(1).get("ratio_to_bound").asDouble()).isPositive();
  }

  @Test
  void aHuggingFaceDirectoryIsWrittenInspectedAndRun() throws Exception {
    Path hf = dir.resolve("qwen-hf");
    Run w =
        duet(
            "model",
            "synth",
            "--preset",
            "qwen-tiny",
            "--format",
            "hf",
            "--shard-mb",
            "0.2",
            "--out",
            hf.toString());
    assertThat(w.exit()).as(w.err()).isZero();
    assertThat(hf.resolve("config.json")).isRegularFile();
    assertThat(hf.resolve("tokenizer.json")).isRegularFile();
    assertThat(hf.resolve("model.safetensors.index.json")).isRegularFile();

    Run text = duet("model", "inspect", hf.toString());
    assertThat(text.exit()).as(text.err()).isZero();
    assertThat(text.out())
        .contains("SAFETENSORS")
        .contains("qwen2: 2 layers, dim 64, 4 heads (2 KV heads, head dim 16)")
        .contains("split halves")
        .contains("Q/K/V biases")
        .contains("byte-level BPE")
        .contains("<|im_start|>")
        .contains("F32 512 B, F16 256 B, BF16 256 B");

    Run json = duet("model", "inspect", "--json", hf.toString());
    assertThat(json.exit()).as(json.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(json.out());
    assertThat(j.get("architecture").asText()).isEqualTo("qwen2");
    assertThat(j.get("kv_bytes_per_token").get("F16").asLong()).isEqualTo(2L * 2 * 32 * 2);
    assertThat(j.get("tokenizer").get("kind").asText()).isEqualTo("byte-level BPE");
    assertThat(j.get("chat_template").asText()).contains("<|im_start|>");

    Run gen =
        duet(
            "generate",
            "--model",
            hf.toString(),
            "--prompt",
            "the cat",
            "--max-tokens",
            "5",
            "--ignore-eos",
            "--json");
    assertThat(gen.exit()).as(gen.err()).isZero();
    assertThat(new ObjectMapper().readTree(gen.out()).get("generated_ids")).hasSize(5);

    // The directory's ChatML template (tokenizer_config.json) renders; its markers are special.
    Run chat =
        duet(
            "generate",
            "--model",
            hf.toString(),
            "--chat",
            "--prompt",
            "the cat",
            "--max-tokens",
            "2",
            "--json");
    assertThat(chat.exit()).as(chat.err()).isZero();
    JsonNode ids = new ObjectMapper().readTree(chat.out()).get("prompt_ids");
    var vocab = dev.duet.engine.synth.SyntheticBpeVocabulary.build(320);
    assertThat(ids.get(0).asInt()).isEqualTo(vocab.bosId());
    assertThat(ids.get(1).asInt()).isEqualTo(vocab.pieces().indexOf("<|im_start|>"));
  }

  @Test
  void inspectingAGgufNamesItsTokenizerAndTheMissingTemplate() {
    Run r = duet("model", "inspect", tiny.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("GGUF")
        .contains("llama: 2 layers")
        .contains("interleaved pairs")
        .contains("SentencePiece, 320 tokens, BOS <s>, EOS </s>")
        .contains("no template");
  }

  @Test
  void badWorkerRolesLopsidedSplitsAndGroupSpecsAreRefusedClearly() {
    Run worker =
        duet("worker", "--role", "sideways", "--controller", "http://127.0.0.1:1", "--model", "x");
    assertThat(worker.exit()).isEqualTo(1);
    assertThat(worker.err()).contains("--role must be prefill, decode or both");
    Run local = duet("local", "--prefill", "1");
    assertThat(local.exit()).isEqualTo(1);
    assertThat(local.err()).contains("--prefill and --decode go together");
    Run group = duet("local", "--group", "batch=1");
    assertThat(group.exit()).isEqualTo(1);
    assertThat(group.err())
        .contains("--group must be NAME=PREFILL:DECODE (e.g. batch=1:2), got 'batch=1'");
    assertThat(duet("local", "--group", "batch=0:0").err()).contains("starts no worker");
  }

  @Test
  void aTooShortAdminTokenIsRefusedBeforeAnythingStarts() {
    for (String command : new String[] {"controller", "local"}) {
      Run r = duet(command, "--model", "x", "--admin-token", "short");
      assertThat(r.exit()).as(command).isEqualTo(1);
      assertThat(r.err()).as(command).contains("admin token must be at least 16 characters");
      assertThat(duet(command, "--help").out())
          .contains("--admin-token")
          .contains("DUET_ADMIN_TOKEN");
    }
  }
}
