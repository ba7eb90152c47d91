package dev.duet.engine.chat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Published chat templates, stored as {@code tokenizer_config.json}-shaped files under {@code
 * src/test/resources/chat-templates}, and the two conversations their reference outputs use.
 */
final class TemplateFixtures {

  private TemplateFixtures() {}

  /** The conversation of llama.cpp's {@code tests/test-chat-template.cpp}. */
  static final List<ChatMessage> LLAMA_CPP_CHAT =
      List.of(
          ChatMessage.system("You are a helpful assistant"),
          ChatMessage.user("Hello"),
          ChatMessage.assistant("Hi there"),
          ChatMessage.user("Who are you"),
          ChatMessage.assistant("   I am an assistant   "),
          ChatMessage.user("Another question"));

  /** The conversation of Hugging Face's chat-template integration tests. */
  static final List<ChatMessage> HF_CHAT =
      List.of(
          ChatMessage.user("Hello, how are you?"),
          ChatMessage.assistant("I'm doing great. How can I help you today?"),
          ChatMessage.user("I'd like to show off how chat templating works!"));

  static final ChatMessage PIRATE =
      ChatMessage.system("You are a friendly chatbot who always responds in the style of a pirate");

  static String config(String name) {
    String path = "/chat-templates/" + name + ".json";
    try (InputStream in = TemplateFixtures.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ChatTemplateSpec spec(String name) {
    return ChatTemplateSpec.fromTokenizerConfig(config(name), name)
        .orElseThrow(() -> new IllegalStateException(name + " has no chat_template"));
  }

  /** The fixture's template, with the BOS/EOS texts the reference output was made with. */
  static ChatTemplate template(String name, String bos, String eos) {
    return ChatTemplate.compile(spec(name).source(), bos, eos);
  }

  static List<ChatMessage> with(ChatMessage first, List<ChatMessage> rest) {
    return java.util.stream.Stream.concat(java.util.stream.Stream.of(first), rest.stream())
        .toList();
  }
}
