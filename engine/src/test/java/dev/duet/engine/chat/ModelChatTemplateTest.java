package dev.duet.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import dev.duet.engine.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A loaded model's chat template (its own, or the fallback) and the BOS-aware encoding of the
 * rendered prompt, on synthetic GGUF models with and without {@code tokenizer.chat_template}.
 */
class ModelChatTemplateTest {

  static final String TEMPLATE =
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}"
          + "{% if add_generation_prompt %}[assistant] {% endif %}";

  @TempDir static Path dir;
  static ComputePool pool;
  static LlamaModel withTemplate;
  static LlamaModel without;

  @BeforeAll
  static void writeModels() throws Exception {
    pool = new ComputePool(1);
    SyntheticModel tiny = SyntheticModel.preset("tiny");
    Path a = dir.resolve("chat.gguf");
    Path b = dir.resolve("plain.gguf");
    SyntheticModelWriter.write(tiny, 1, GgmlType.F32, TEMPLATE, a);
    SyntheticModelWriter.write(tiny, 1, GgmlType.F32, b);
    withTemplate = LlamaModel.load(a, pool);
    without = LlamaModel.load(b, pool);
  }

  @AfterAll
  static void close() {
    withTemplate.close();
    without.close();
    pool.close();
  }

  @Test
  void aModelsOwnTemplateGetsItsBosAndEosTexts() {
    ModelChatTemplate t = ModelChatTemplate.forModel(withTemplate);
    assertThat(t.fallback()).isFalse();
    assertThat(t.template().render(List.of(ChatMessage.user("hi")), true))
        .isEqualTo("<s>[user] hi</s>[assistant] ");
  }

  @Test
  void aModelWithoutTemplateGetsTheFallback() {
    ModelChatTemplate t = ModelChatTemplate.forModel(without);
    assertThat(t.fallback()).isTrue();
    assertThat(t.template().render(List.of(ChatMessage.user("hi")), true))
        .isEqualTo("User: hi\nAssistant:");
  }

  @Test
  void bosIsNotAddedTwiceWhenTheTemplateWritesIt() {
    Tokenizer tok = withTemplate.tokenizer();
    String rendered = "<s>[user] hi</s>[assistant] ";
    assertThat(ChatPromptEncoder.addBos(tok, rendered)).isFalse();
    int[] ids = ChatPromptEncoder.encode(tok, rendered);
    assertThat(ids[0]).isEqualTo(tok.bosId());
    assertThat(ids[1]).isNotEqualTo(tok.bosId());
    // The EOS text became the EOS token: special tokens are parsed.
    assertThat(ids).contains(tok.eosId());
  }

  @Test
  void bosIsAddedWhenTheTemplateDoesNotWriteIt() {
    Tokenizer tok = without.tokenizer();
    String rendered = "User: hi\nAssistant:";
    assertThat(ChatPromptEncoder.addBos(tok, rendered)).isTrue();
    int[] ids = ChatPromptEncoder.encode(tok, rendered);
    assertThat(ids[0]).isEqualTo(tok.bosId());
    assertThat(ids).isEqualTo(tok.encode(rendered, true, true));
  }
}
