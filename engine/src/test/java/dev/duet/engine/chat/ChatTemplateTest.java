package dev.duet.engine.chat;

import static dev.duet.engine.chat.TemplateFixtures.LLAMA_CPP_CHAT;
import static dev.duet.engine.chat.TemplateFixtures.template;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How {@link ChatTemplate} behaves beyond the published templates: errors, functions, fallback. */
class ChatTemplateTest {

  @Test
  void raiseExceptionSurfacesTheTemplatesOwnMessage() {
    ChatTemplate mistral = template("mistral-instruct-v0.1", "<s>", "</s>");
    assertThatThrownBy(() -> mistral.render(LLAMA_CPP_CHAT, true))
        .isInstanceOf(ChatTemplateException.class)
        .hasMessageContaining("raised an exception")
        .hasMessageContaining(
            "Conversation roles must alternate user/assistant/user/assistant/...");
  }

  @Test
  void aSyntaxErrorFailsAtCompileTimeNamingTheProblem() {
    assertThatThrownBy(() -> ChatTemplate.compile("{% for m in messages %}{{ m.role }}", "", ""))
        .isInstanceOf(ChatTemplateException.class)
        .hasMessageContaining("compiling")
        .hasMessageContaining("endfor");
  }

  @Test
  void anUnsupportedMethodFailsLoudlyInsteadOfRenderingSomethingElse() {
    ChatTemplate t = ChatTemplate.compile("{{ messages[0].content.no_such_method() }}", "", "");
    assertThatThrownBy(() -> t.render(List.of(ChatMessage.user("x")), false))
        .isInstanceOf(ChatTemplateException.class)
        .hasMessageContaining("no_such_method");
  }

  @Test
  void strftimeNowReadsTheInjectedClock() {
    Clock clock = Clock.fixed(Instant.parse("2024-07-26T10:00:00Z"), ZoneOffset.UTC);
    ChatTemplate t =
        ChatTemplate.compile(
            "{%- if strftime_now is defined %}{{ strftime_now('%d %b %Y') }}{% endif %}",
            "", "", clock);
    assertThat(t.render(List.of(ChatMessage.user("x")), false)).isEqualTo("26 Jul 2024");
  }

  @Test
  void lstripBlocksStripsOnlyIndentationBeforeATagAsPythonJinjaDoes() {
    ChatTemplate t =
        ChatTemplate.compile("a {% if true %}b{% endif %}|\n    {% if true %}c{% endif %}", "", "");
    assertThat(t.render(List.of(ChatMessage.user("x")), false)).isEqualTo("a b|\nc");
  }

  @Test
  void undefinedNamesAreFalsyAndRenderAsNothing() {
    ChatTemplate t =
        ChatTemplate.compile(
            "{% if tools %}T{% endif %}[{{ custom }}]{{ messages[0].missing }}", "", "");
    assertThat(t.render(List.of(ChatMessage.user("x")), false)).isEqualTo("[]");
  }

  @Test
  void namespacesSlicesAndLoopVariablesWorkAsInPythonJinja() {
    ChatTemplate t =
        ChatTemplate.compile(
            "{%- set ns = namespace(n=0) -%}"
                + "{%- for m in messages[1:] -%}{%- set ns.n = ns.n + 1 -%}"
                + "{{ loop.index0 }}{{ m.role }}{{ '|' if not loop.last }}{%- endfor -%}"
                + " n={{ ns.n }} last={{ messages[-1].content | trim }}"
                + " json={{ messages[0] | tojson }}",
            "", "");
    assertThat(t.render(LLAMA_CPP_CHAT, false))
        .isEqualTo(
            "0user|1assistant|2user|3assistant|4usern=5 last=Another question"
                + " json={\"role\":\"system\",\"content\":\"You are a helpful assistant\"}");
  }

  @Test
  void theFallbackIsAPlainTranscriptEndingWithTheAssistantLabel() {
    ChatTemplate t = ChatTemplate.compile(ModelChatTemplate.FALLBACK, "<s>", "</s>");
    List<ChatMessage> chat =
        List.of(
            ChatMessage.system("Be brief. "),
            ChatMessage.user(" Hi"),
            ChatMessage.assistant("Hello"),
            new ChatMessage("tool", "42"),
            ChatMessage.user("Thanks"));
    assertThat(t.render(chat, true))
        .isEqualTo(
            "System: Be brief.\nUser: Hi\nAssistant: Hello\ntool: 42\nUser: Thanks\nAssistant:");
    assertThat(t.render(chat.subList(1, 2), false)).isEqualTo("User: Hi\n");
  }

  @Test
  void anEmptyConversationIsRejected() {
    ChatTemplate t = ChatTemplate.compile(ModelChatTemplate.FALLBACK, "", "");
    assertThatThrownBy(() -> t.render(List.of(), true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least one message");
  }
}
