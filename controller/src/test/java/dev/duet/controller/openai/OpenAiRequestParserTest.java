package dev.duet.controller.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.duet.controller.openai.OpenAiRequest.Kind;
import dev.duet.engine.sampling.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OpenAiRequestParserTest {

  private static OpenAiRequest parse(Kind kind, String json) {
    return OpenAiRequestParser.parse(kind, json.getBytes(StandardCharsets.UTF_8));
  }

  private static ApiError error(Kind kind, String json) {
    return catchThrowableOfType(ApiException.class, () -> parse(kind, json)).error();
  }

  @Test
  void aCompletionTakesOpenAisDefaults() {
    OpenAiRequest r = parse(Kind.COMPLETION, "{\"model\":\"m\",\"prompt\":\"Once upon\"}");
    assertThat(r.promptText()).isEqualTo("Once upon");
    assertThat(r.maxTokens()).hasValue(16);
    assertThat(r.temperature()).isEqualTo(1f);
    assertThat(r.topP()).isEqualTo(1f);
    assertThat(r.seed()).isEmpty();
    assertThat(r.stream()).isFalse();
    SamplingParams p = r.samplingParams(3, 100, 42);
    assertThat(p.seed()).isEqualTo(42);
    assertThat(p.maxTokens()).isEqualTo(16);
  }

  @Test
  void aCompletionCarriesEverySupportedOption() {
    OpenAiRequest r =
        parse(
            Kind.COMPLETION,
            """
            {"model":"m","prompt":[1,5,9],"max_tokens":7,"temperature":0,"top_p":0.5,"top_k":3,
             "seed":-9,"stop":["\\n","END"],"stream":true,"stream_options":{"include_usage":true},
             "n":1,"logprobs":null,"echo":false,"presence_penalty":0,"user":"u","ignore_eos":true}
            """);
    assertThat(r.promptIds()).containsExactly(1, 5, 9);
    SamplingParams p = r.samplingParams(3, 100, 42);
    assertThat(p).isEqualTo(new SamplingParams(0f, 3, 0.5f, -9, 7, List.of("\n", "END"), true));
    assertThat(r.stream()).isTrue();
    assertThat(r.includeUsage()).isTrue();
  }

  @Test
  void aChatDefaultsToTheRestOfTheContext() {
    OpenAiRequest r =
        parse(
            Kind.CHAT,
            """
            {"model":"m","messages":[{"role":"system","content":"Be brief."},
             {"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_completion_tokens":null,
             "stop":"x","response_format":{"type":"text"},"tools":[],"tool_choice":"none"}
            """);
    assertThat(r.messages()).hasSize(2);
    assertThat(r.messages().get(1).content()).isEqualTo("Hi");
    assertThat(r.maxTokens()).isEmpty();
    assertThat(r.samplingParams(30, 100, 1).maxTokens()).isEqualTo(70);
    assertThat(r.stop()).containsExactly("x");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "not json                                  | {\"model\":                      | ",
        "not an object                             | [1,2]                             | ",
        "missing model                             | {\"prompt\":\"x\"}                | model",
        "model not a string                        | {\"model\":1,\"prompt\":\"x\"}     | model",
        "missing prompt                            | {\"model\":\"m\"}                 | prompt",
        "prompt of wrong type                      | {\"model\":\"m\",\"prompt\":{}}    | prompt",
        "negative token id                         | {\"model\":\"m\",\"prompt\":[1,-2]} | prompt",
        "several prompts                           | {\"model\":\"m\",\"prompt\":[\"a\",\"b\"]} | prompt",
        "zero max_tokens                           | {\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":0} | max_tokens",
        "fractional max_tokens                     | {\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":1.5} | max_tokens",
        "temperature of wrong type                 | {\"model\":\"m\",\"prompt\":\"x\",\"temperature\":\"hot\"} | temperature",
        "temperature out of range                  | {\"model\":\"m\",\"prompt\":\"x\",\"temperature\":3} | temperature",
        "top_p zero                                | {\"model\":\"m\",\"prompt\":\"x\",\"top_p\":0} | top_p",
        "stop of wrong type                        | {\"model\":\"m\",\"prompt\":\"x\",\"stop\":5} | stop",
        "empty stop string                         | {\"model\":\"m\",\"prompt\":\"x\",\"stop\":[\"\"]} | stop",
        "stream not a boolean                      | {\"model\":\"m\",\"prompt\":\"x\",\"stream\":1} | stream",
        "stream_options without stream             | {\"model\":\"m\",\"prompt\":\"x\",\"stream_options\":{}} | stream_options",
        "n of two                                  | {\"model\":\"m\",\"prompt\":\"x\",\"n\":2} | n",
        "best_of                                   | {\"model\":\"m\",\"prompt\":\"x\",\"best_of\":3} | best_of",
        "logprobs                                  | {\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":2} | logprobs",
        "echo                                      | {\"model\":\"m\",\"prompt\":\"x\",\"echo\":true} | echo",
        "suffix                                    | {\"model\":\"m\",\"prompt\":\"x\",\"suffix\":\"y\"} | suffix",
        "logit_bias                                | {\"model\":\"m\",\"prompt\":\"x\",\"logit_bias\":{\"5\":1}} | logit_bias",
        "presence_penalty                          | {\"model\":\"m\",\"prompt\":\"x\",\"presence_penalty\":0.5} | presence_penalty",
        "an unknown field                          | {\"model\":\"m\",\"prompt\":\"x\",\"tempreature\":0} | tempreature",
        "a chat field on completions               | {\"model\":\"m\",\"prompt\":\"x\",\"messages\":[]} | messages",
      })
  void completionInputThatCannotBeServedIsA400NamingTheField(
      String why, String json, String param) {
    ApiError e = error(Kind.COMPLETION, json);
    assertThat(e.status()).as(why).isEqualTo(400);
    assertThat(e.param()).as(why).isEqualTo(param);
    assertThat(e.toJson().path("error").path("message").asText()).isNotBlank();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "missing messages     | {\"model\":\"m\"}                                        | messages",
        "empty messages       | {\"model\":\"m\",\"messages\":[]}                         | messages",
        "message without role | {\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}      | messages",
        "image part           | {\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]} | messages",
        "tools                | {\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{}]} | tools",
        "json mode            | {\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_object\"}} | response_format",
        "top_logprobs         | {\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":3} | top_logprobs",
        "a prompt on chat     | {\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"prompt\":\"x\"} | prompt",
      })
  void chatInputThatCannotBeServedIsA400NamingTheField(String why, String json, String param) {
    ApiError e = error(Kind.CHAT, json);
    assertThat(e.status()).as(why).isEqualTo(400);
    assertThat(e.param()).as(why).isEqualTo(param);
  }

  @Test
  void promptsThatLeaveNoRoomAre422AndTooManyTokensAre400() {
    OpenAiRequest r =
        parse(Kind.COMPLETION, "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":50}");
    ApiError full =
        catchThrowableOfType(ApiException.class, () -> r.samplingParams(100, 100, 0)).error();
    assertThat(full.status()).isEqualTo(422);
    assertThat(full.param()).isEqualTo("prompt");
    assertThat(full.message()).contains("100 tokens");
    ApiError over =
        catchThrowableOfType(ApiException.class, () -> r.samplingParams(60, 100, 0)).error();
    assertThat(over.status()).isEqualTo(400);
    assertThat(over.param()).isEqualTo("max_tokens");
    assertThat(over.message()).contains("leaving 40");
  }
}
