package dev.duet.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Chat messages and their OpenAI-style JSON form. */
class ChatMessageTest {

  private static JsonNode json(String s) throws Exception {
    return new ObjectMapper().readTree(s);
  }

  @Test
  void aBlankRoleOrNullContentIsRejected() {
    assertThatThrownBy(() -> new ChatMessage(" ", "x")).hasMessageContaining("role");
    assertThatThrownBy(() -> new ChatMessage("user", null)).hasMessageContaining("content");
  }

  @Test
  void stringContentIsTakenAsIs() throws Exception {
    assertThat(ChatMessage.listFromJson(json("[{\"role\":\"user\",\"content\":\" hi \"}]")))
        .containsExactly(ChatMessage.user(" hi "));
  }

  @Test
  void textPartsAreJoinedWithNewlines() throws Exception {
    JsonNode m =
        json(
            "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                + "{\"type\":\"text\",\"text\":\"b\"}]}");
    assertThat(ChatMessage.fromJson(m, "messages[0]")).isEqualTo(ChatMessage.user("a\nb"));
  }

  @Test
  void nonTextPartsAreRejectedNamingThePartAndType() throws Exception {
    JsonNode arr =
        json(
            "[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image_url\",\"image_url\":{}}]}]");
    assertThatThrownBy(() -> ChatMessage.listFromJson(arr))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("messages[1].content[1]")
        .hasMessageContaining("image_url");
  }

  @Test
  void missingFieldsAndEmptyListsAreRejected() throws Exception {
    assertThatThrownBy(() -> ChatMessage.listFromJson(json("[]")))
        .hasMessageContaining("non-empty");
    assertThatThrownBy(() -> ChatMessage.listFromJson(json("[{\"content\":\"x\"}]")))
        .hasMessageContaining("messages[0].role");
    assertThatThrownBy(() -> ChatMessage.listFromJson(json("[{\"role\":\"user\"}]")))
        .hasMessageContaining("messages[0].content");
    assertThat(List.of(ChatMessage.system("s")).get(0).role()).isEqualTo("system");
  }
}
