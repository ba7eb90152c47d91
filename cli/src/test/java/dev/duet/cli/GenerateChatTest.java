package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code duet generate --chat} end to end on synthetic models with and without a template. */
class GenerateChatTest {

  static final String TEMPLATE =
      "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}"
          + "{% if add_generation_prompt %}<assistant>{% endif %}";

  @TempDir static Path dir;
  static Path chatModel;
  static Path plainModel;

  record Run(int exit, String out, String err) {}

  static Run duet(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = DuetCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @BeforeAll
  static void writeModels() throws Exception {
    chatModel = dir.resolve("chat.gguf");
    plainModel = dir.resolve("plain.gguf");
    SyntheticModel tiny = SyntheticModel.preset("tiny");
    SyntheticModelWriter.write(tiny, 3, GgmlType.F32, TEMPLATE, chatModel);
    SyntheticModelWriter.write(tiny, 3, GgmlType.F32, plainModel);
  }

  static int[] encodeSpecial(Path model, String text, boolean addBos) {
    try (ComputePool pool = new ComputePool(1);
        LlamaModel m = LlamaModel.load(model, pool)) {
      return m.tokenizer().encode(text, addBos, true);
    }
  }

  static int[] promptIds(Run r) throws Exception {
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode ids = new ObjectMapper().readTree(r.out()).get("prompt_ids");
    int[] out = new int[ids.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ids.get(i).asInt();
    }
    return out;
  }

  @Test
  void chatRendersTheModelsTemplateWithOneBosAndSpecialTokens() throws Exception {
    Run r =
        duet(
            "generate",
            "--model",
            chatModel.toString(),
            "--chat",
            "--system",
            "Be nice.",
            "--prompt",
            "Hello",
            "--max-tokens",
            "2",
            "--json");
    int[] expected =
        encodeSpecial(chatModel, "<s><system>Be nice.</s><user>Hello</s><assistant>", false);
    assertThat(promptIds(r)).isEqualTo(expected);
    assertThat(expected[0]).isEqualTo(1);
    assertThat(expected[1]).isNotEqualTo(1);
    assertThat(r.err()).doesNotContain("no chat template");
  }

  @Test
  void aModelWithoutTemplateUsesTheFallbackAndSaysSo() throws Exception {
    Run r =
        duet(
            "generate",
            "--model",
            plainModel.toString(),
            "--chat",
            "--prompt",
            "Hello",
            "--max-tokens",
            "2",
            "--json");
    assertThat(promptIds(r)).isEqualTo(encodeSpecial(plainModel, "User: Hello\nAssistant:", true));
    assertThat(r.err()).contains("plain.gguf has no chat template");
  }

  @Test
  void messagesComeFromAJsonFileAndThePromptFollowsThem() throws Exception {
    Path file = dir.resolve("messages.json");
    Files.writeString(
        file,
        "[{\"role\":\"user\",\"content\":\"Hi\"},"
            + "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Yo\"}]}]");
    Run r =
        duet(
            "generate",
            "--model",
            chatModel.toString(),
            "--chat",
            "--messages",
            file.toString(),
            "--prompt",
            "More",
            "--max-tokens",
            "2",
            "--json");
    assertThat(promptIds(r))
        .isEqualTo(
            encodeSpecial(
                chatModel, "<s><user>Hi</s><assistant>Yo</s><user>More</s><assistant>", false));
  }

  @Test
  void badChatInputsFailWithMessagesThatNameTheCause() throws Exception {
    Path file = dir.resolve("bad.json");
    Files.writeString(file, "[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]");
    Run r =
        duet("generate", "--model", chatModel.toString(), "--chat", "--messages", file.toString());
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("bad.json").contains("image_url");
    Run noChat =
        duet("generate", "--model", chatModel.toString(), "--prompt", "x", "--system", "y");
    assertThat(noChat.exit()).isEqualTo(1);
    assertThat(noChat.err()).contains("need --chat");
    Run nothing = duet("generate", "--model", chatModel.toString(), "--chat");
    assertThat(nothing.exit()).isEqualTo(1);
    assertThat(nothing.err()).contains("--chat needs --prompt or --messages");
  }
}
