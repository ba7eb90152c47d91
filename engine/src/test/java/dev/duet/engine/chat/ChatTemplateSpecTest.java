package dev.duet.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading {@code chat_template}, {@code bos_token} and {@code eos_token} from tokenizer_config. */
class ChatTemplateSpecTest {

  @Test
  void aStringTemplateAndStringTokensAreTakenAsTheyAre() {
    ChatTemplateSpec spec = TemplateFixtures.spec("llama-3.1-instruct");
    assertThat(spec.bosToken()).isEqualTo("<|begin_of_text|>");
    assertThat(spec.eosToken()).isEqualTo("<|eot_id|>");
    assertThat(spec.source()).startsWith("{{- bos_token }}\n{%- if custom_tools is defined %}");
  }

  @Test
  void aNullBosTokenBecomesEmpty() {
    ChatTemplateSpec spec = TemplateFixtures.spec("qwen2.5-instruct");
    assertThat(spec.bosToken()).isEmpty();
    assertThat(spec.eosToken()).isEqualTo("<|im_end|>");
  }

  @Test
  void tokensMayBeAddedTokenObjectsWithContent() {
    String json =
        """
        {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
         "eos_token": {"content": "</s>"},
         "chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}
        """;
    ChatTemplateSpec spec = ChatTemplateSpec.fromTokenizerConfig(json, "cfg.json").orElseThrow();
    assertThat(spec.bosToken()).isEqualTo("<s>");
    assertThat(spec.eosToken()).isEqualTo("</s>");
    assertThat(spec.compile().render(List.of(ChatMessage.user("hi")), false))
        .isEqualTo("<s>hi</s>");
  }

  @Test
  void aListOfNamedTemplatesYieldsTheDefaultOne() {
    String json =
        """
        {"chat_template": [
          {"name": "tool_use", "template": "TOOLS"},
          {"name": "default", "template": "DEFAULT {{ messages | length }}"}]}
        """;
    ChatTemplateSpec spec = ChatTemplateSpec.fromTokenizerConfig(json, "cfg.json").orElseThrow();
    assertThat(spec.source()).isEqualTo("DEFAULT {{ messages | length }}");
    assertThat(spec.bosToken()).isEmpty();
  }

  @Test
  void aListWithoutADefaultIsRejectedNamingTheEntriesFound() {
    String json = "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"}]}";
    assertThatThrownBy(() -> ChatTemplateSpec.fromTokenizerConfig(json, "cfg.json"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cfg.json")
        .hasMessageContaining("default")
        .hasMessageContaining("tool_use");
  }

  @Test
  void aConfigWithoutATemplateGivesNone() {
    assertThat(ChatTemplateSpec.fromTokenizerConfig("{\"bos_token\": \"<s>\"}", "c")).isEmpty();
    assertThat(ChatTemplateSpec.fromTokenizerConfig("{\"chat_template\": null}", "c")).isEmpty();
  }

  @Test
  void malformedJsonAndBadShapesNameTheFileAndKey() {
    assertThatThrownBy(() -> ChatTemplateSpec.fromTokenizerConfig("{nope", "cfg.json"))
        .hasMessageContaining("cfg.json")
        .hasMessageContaining("not valid JSON");
    assertThatThrownBy(
            () ->
                ChatTemplateSpec.fromTokenizerConfig(
                    "{\"chat_template\": \"x\", \"eos_token\": 7}", "cfg.json"))
        .hasMessageContaining("cfg.json")
        .hasMessageContaining("eos_token");
    assertThatThrownBy(() -> ChatTemplateSpec.fromTokenizerConfig("{\"chat_template\": 3}", "c"))
        .hasMessageContaining("chat_template must be a string or a list");
  }
}
