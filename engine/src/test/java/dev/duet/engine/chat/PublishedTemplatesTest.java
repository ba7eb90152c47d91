package dev.duet.engine.chat;

import static dev.duet.engine.chat.TemplateFixtures.HF_CHAT;
import static dev.duet.engine.chat.TemplateFixtures.LLAMA_CPP_CHAT;
import static dev.duet.engine.chat.TemplateFixtures.PIRATE;
import static dev.duet.engine.chat.TemplateFixtures.template;
import static dev.duet.engine.chat.TemplateFixtures.with;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Published chat templates render exactly what their reference implementations render. Expected
 * strings come from llama.cpp's {@code tests/test-chat-template.cpp} (its six-message conversation,
 * with the same BOS/EOS texts), from Hugging Face's chat-template integration tests (made with
 * Python Jinja), or, where marked, are written out from the model's documented prompt format.
 */
class PublishedTemplatesTest {

  @Test
  void chatMlRendersEveryTurnAndTheAssistantHeader() {
    String out = template("chatml-openhermes", "", "").render(LLAMA_CPP_CHAT, true);
    assertThat(out)
        .isEqualTo(
            "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
                + "<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\nHi there<|im_end|>\n"
                + "<|im_start|>user\nWho are you<|im_end|>\n"
                + "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n"
                + "<|im_start|>user\nAnother question<|im_end|>\n"
                + "<|im_start|>assistant\n");
  }

  @Test
  void llama3TrimsContentAndPutsBosBeforeTheFirstTurn() {
    String expected =
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>";
    ChatTemplate t = template("llama-3-instruct", "<|begin_of_text|>", "<|eot_id|>");
    assertThat(t.render(LLAMA_CPP_CHAT, false)).isEqualTo(expected);
    assertThat(t.render(LLAMA_CPP_CHAT, true))
        .isEqualTo(expected + "<|start_header_id|>assistant<|end_header_id|>\n\n");
  }

  /** Written out from Meta's documented Llama 3.1 format (no tools, no date given). */
  @Test
  void llama31PutsTheSystemMessageAfterTheKnowledgeAndTodayDates() {
    ChatTemplate t = template("llama-3.1-instruct", "<|begin_of_text|>", "<|eot_id|>");
    List<ChatMessage> chat =
        List.of(
            ChatMessage.system("You are a helpful assistant"),
            ChatMessage.user("Hello"),
            ChatMessage.assistant("Hi there"),
            ChatMessage.user("Who are you"));
    String turns =
        "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>";
    String header =
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
    assertThat(t.render(chat, true))
        .isEqualTo(
            header
                + "You are a helpful assistant<|eot_id|>"
                + turns
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    assertThat(t.render(chat.subList(1, 4), false)).isEqualTo(header + "<|eot_id|>" + turns);
  }

  @Test
  void qwen25AddsItsDefaultSystemPromptWhenThereIsNone() {
    ChatTemplate t = template("qwen2.5-instruct", "", "<|im_end|>");
    String expected =
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\nHello, how are you?<|im_end|>\n"
            + "<|im_start|>assistant\nI'm doing great. How can I help you today?<|im_end|>\n"
            + "<|im_start|>user\nI'd like to show off how chat templating works!<|im_end|>\n";
    assertThat(t.render(HF_CHAT, false)).isEqualTo(expected);
    assertThat(t.render(HF_CHAT, true)).isEqualTo(expected + "<|im_start|>assistant\n");
    assertThat(t.render(with(PIRATE, HF_CHAT), false))
        .startsWith("<|im_start|>system\n" + PIRATE.content() + "<|im_end|>\n<|im_start|>user\n");
  }

  @Test
  void zephyrAndTinyLlamaNeedTrimBlocksToDropTheTemplatesNewlines() {
    ChatTemplate t = template("zephyr-tinyllama", "<s>", "</s>");
    assertThat(t.render(with(PIRATE, HF_CHAT), false))
        .isEqualTo(
            "<|system|>\n"
                + PIRATE.content()
                + "</s>\n<|user|>\nHello, how are you?</s>\n"
                + "<|assistant|>\nI'm doing great. How can I help you today?</s>\n"
                + "<|user|>\nI'd like to show off how chat templating works!</s>\n");
    assertThat(
            t.render(
                List.of(
                    PIRATE,
                    ChatMessage.user("How many helicopters can a human eat in one sitting?")),
                true))
        .isEqualTo(
            "<|system|>\n"
                + PIRATE.content()
                + "</s>\n<|user|>\nHow many helicopters can a human eat in one sitting?</s>\n<|assistant|>\n");
  }

  @Test
  void mistralInstructWrapsUserTurnsInInstTags() {
    ChatTemplate t = template("mistral-instruct-v0.1", "<s>", "</s>");
    assertThat(t.render(HF_CHAT, true))
        .isEqualTo(
            "<s>[INST] Hello, how are you? [/INST]I'm doing great. How can I help you today?</s>"
                + "[INST] I'd like to show off how chat templating works! [/INST]");
    // llama.cpp's reference: the system prompt folded into the first user turn, no BOS text.
    List<ChatMessage> folded =
        with(ChatMessage.user("You are a helpful assistant\nHello"), LLAMA_CPP_CHAT.subList(2, 6));
    assertThat(template("mistral-instruct-v0.1", "", "</s>").render(folded, true))
        .isEqualTo(
            "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>"
                + "[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]");
  }

  @Test
  void mistralV1TemplateFoldsTheSystemMessageIntoTheFirstInst() {
    assertThat(template("mistral-v1-system", "", "</s>").render(LLAMA_CPP_CHAT, true))
        .isEqualTo(
            " [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s>"
                + " [INST] Who are you [/INST]    I am an assistant   </s> [INST] Another question [/INST]");
  }

  @Test
  void deepseekCoderUsesANamespaceToFindTheSystemMessage() {
    assertThat(template("deepseek-coder-instruct", "", "").render(LLAMA_CPP_CHAT, true))
        .isEqualTo(
            "You are a helpful assistant### Instruction:\nHello\n### Response:\nHi there\n<|EOT|>\n"
                + "### Instruction:\nWho are you\n### Response:\n   I am an assistant   \n<|EOT|>\n"
                + "### Instruction:\nAnother question\n### Response:\n");
  }

  /** Written out from SmolLM2's template: ChatML with a default system prompt. */
  @Test
  void smolLm2AddsItsDefaultSystemPrompt() {
    ChatTemplate t = template("smollm2-instruct", "<|im_start|>", "<|im_end|>");
    List<ChatMessage> chat = List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello!"));
    String expected =
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n";
    assertThat(t.render(chat, false)).isEqualTo(expected);
    assertThat(t.render(chat, true)).isEqualTo(expected + "<|im_start|>assistant\n");
  }
}
