package dev.duet.controller.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.controller.openai.OpenAiRequest.Kind;
import dev.duet.controller.openai.OpenAiResponses.Usage;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OpenAiResponsesTest {

  private final OpenAiResponses r =
      new OpenAiResponses(
          Clock.fixed(Instant.ofEpochSecond(1_700_000_000), ZoneOffset.UTC),
          new SplittableRandom(1));

  @Test
  void idsCarryTheKindsPrefix() {
    assertThat(r.newId(Kind.COMPLETION)).matches("cmpl-[0-9a-f]{24}");
    assertThat(r.newId(Kind.CHAT)).matches("chatcmpl-[0-9a-f]{24}");
  }

  @Test
  void aChatCompletionHasOpenAisShape() {
    JsonNode c = r.complete(Kind.CHAT, "chatcmpl-1", "m", "Hello", "stop", new Usage(5, 2));
    assertThat(c.path("object").asText()).isEqualTo("chat.completion");
    assertThat(c.path("created").asLong()).isEqualTo(1_700_000_000L);
    assertThat(c.at("/choices/0/message/role").asText()).isEqualTo("assistant");
    assertThat(c.at("/choices/0/message/content").asText()).isEqualTo("Hello");
    assertThat(c.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
    assertThat(c.at("/usage/total_tokens").asInt()).isEqualTo(7);
  }

  @Test
  void streamsStartWithTheRoleAndEndWithUsageAndDone() {
    JsonNode first = r.chunk(Kind.CHAT, "id", "m", true, "", null);
    assertThat(first.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
    assertThat(first.at("/choices/0/finish_reason").isNull()).isTrue();
    JsonNode last = r.chunk(Kind.CHAT, "id", "m", false, "", "length");
    assertThat(last.at("/choices/0/delta").isEmpty()).isTrue();
    assertThat(last.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    JsonNode usage = r.usageChunk(Kind.COMPLETION, "id", "m", new Usage(1, 1));
    assertThat(usage.path("choices")).isEmpty();
    assertThat(OpenAiResponses.sse(usage)).startsWith("data: {").endsWith("}\n\n");
    assertThat(OpenAiResponses.DONE).isEqualTo("data: [DONE]\n\n");
    JsonNode text = r.chunk(Kind.COMPLETION, "id", "m", true, "abc", null);
    assertThat(text.path("object").asText()).isEqualTo("text_completion");
    assertThat(text.at("/choices/0/text").asText()).isEqualTo("abc");
  }
}
