package dev.duet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.chat.ChatMessage;
import dev.duet.engine.chat.ChatPromptEncoder;
import dev.duet.engine.chat.ModelChatTemplate;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.Generation;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.model.Model;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.tensor.ComputePool;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code duet generate}: one completion, streamed to stdout. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = {
      "Generate a completion for a prompt and stream it to stdout.",
      "Greedy by default (--temperature 0): the same prompt always gives the same tokens.",
      "With --chat the prompt is the user's message, rendered with the model's chat template"
          + " (a plain 'User: ...' transcript when the model has none)."
    })
final class GenerateCommand implements Callable<Integer> {

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--model",
      description =
          "A .gguf file, a Hugging Face model directory, hf:ORG/REPO[/FILE][@REVISION] to download"
              + " from the Hugging Face hub into the cache (HF_TOKEN, HF_ENDPOINT and"
              + " HF_HUB_OFFLINE=1 are honoured), or synth:PRESET[:SEED[:DTYPE]] for a synthetic"
              + " model, or sim:PROFILE for an emulated one (required unless --engine sim).")
  String model;

  @Mixin EngineChoice engineChoice = new EngineChoice();

  @Option(
      names = "--prompt",
      description = "The prompt text; with --chat, the user's message. Required unless --messages.")
  String prompt;

  @Option(
      names = "--chat",
      description =
          "Render the prompt as a chat with the model's chat template and generate the reply.")
  boolean chat;

  @Option(
      names = "--system",
      paramLabel = "TEXT",
      description = "With --chat: a system message before the user's message.")
  String system;

  @Option(
      names = "--messages",
      paramLabel = "FILE",
      description =
          "With --chat: a JSON array of {role, content} messages (OpenAI style); --system and"
              + " --prompt, when given, are added before and after them.")
  Path messagesFile;

  @Option(
      names = "--max-tokens",
      defaultValue = "128",
      description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(
      names = "--temperature",
      defaultValue = "0",
      description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
  float temperature;

  @Option(
      names = "--top-k",
      defaultValue = "0",
      description = "Keep only the K most likely tokens; 0 = off (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(
      names = "--top-p",
      defaultValue = "1",
      description = "Nucleus sampling mass; 1 = off (default: ${DEFAULT-VALUE}).")
  float topP;

  @Option(
      names = "--seed",
      description = "Sampling seed (default: random). Same seed, same tokens.")
  Long seed;

  @Option(names = "--stop", description = "Stop when this text appears (repeatable).")
  List<String> stop = List.of();

  @Option(names = "--ignore-eos", description = "Keep generating past the end-of-sequence token.")
  boolean ignoreEos;

  @Option(names = "--no-bos", description = "Do not prepend the BOS token.")
  boolean noBos;

  @Option(
      names = "--json",
      description = "Print one JSON object with ids, text and timings instead of streaming text.")
  boolean json;

  @Option(names = "--threads", description = "Compute threads (default: all processors).")
  Integer threads;

  @Option(
      names = "--chunk",
      defaultValue = "512",
      description = "Most prompt tokens per prefill pass (default: ${DEFAULT-VALUE}).")
  int chunk;

  @Option(
      names = "--kv-dtype",
      defaultValue = "F32",
      description = "KV cache storage: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
  KvDtype kvDtype;

  @Override
  public Integer call() throws Exception {
    long seedValue = seed != null ? seed : new java.security.SecureRandom().nextLong();
    SamplingParams params =
        new SamplingParams(temperature, topK, topP, seedValue, maxTokens, stop, ignoreEos);
    String modelSpec = engineChoice.modelSpec(model);
    if (modelSpec == null) {
      throw new IllegalArgumentException("--model is required (or --engine sim --profile NAME)");
    }
    try (ComputePool pool =
            threads == null ? ComputePool.ofAvailableProcessors() : new ComputePool(threads);
        Model llama = ModelLoader.load(modelSpec, pool);
        InferenceEngine engine =
            InferenceEngine.create(
                llama,
                EngineOptions.defaults()
                    .withKvDtype(ModelLoader.isSim(modelSpec) ? llama.kvDtype() : kvDtype))) {
      int[] ids = chat ? chatPromptIds(llama) : plainPromptIds(llama);
      PrintWriter out = spec.commandLine().getOut();
      long start = System.nanoTime();
      long[] firstToken = {0};
      Generation g =
          engine.generate(
              "cli",
              ids,
              params,
              chunk,
              e -> {
                if (firstToken[0] == 0) {
                  firstToken[0] = System.nanoTime();
                }
                if (!json) {
                  out.print(e.text());
                  out.flush();
                }
              });
      long end = System.nanoTime();
      double prefillMs = (firstToken[0] - start) / 1e6;
      int decoded = Math.max(0, g.generatedCount() - 1);
      double decodeSeconds = (end - firstToken[0]) / 1e9;
      double tokensPerS = decoded == 0 ? 0 : decoded / decodeSeconds;
      if (json) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode node = mapper.createObjectNode();
        node.putPOJO("prompt_ids", ids);
        node.putPOJO("generated_ids", g.generated());
        node.put("text", g.text());
        node.put("finish_reason", g.stopReason().openAiFinishReason());
        node.put("prefill_ms", round(prefillMs));
        node.put("decode_tokens_per_s", round(tokensPerS));
        out.println(mapper.writeValueAsString(node));
        out.flush();
      } else {
        out.println();
        out.flush();
        spec.commandLine()
            .getErr()
            .printf(
                "[%d prompt tokens, prefill %.1f ms; %d tokens at %.1f tokens/s; stop: %s]%n",
                ids.length, prefillMs, g.generatedCount(), tokensPerS, g.stopReason());
      }
      return 0;
    }
  }

  private int[] plainPromptIds(Model llama) {
    if (prompt == null) {
      throw new IllegalArgumentException("--prompt is required (or use --chat with --messages)");
    }
    if (system != null || messagesFile != null) {
      throw new IllegalArgumentException("--system and --messages need --chat");
    }
    return llama.tokenizer().encode(prompt, !noBos && llama.tokenizer().addBosByDefault(), false);
  }

  private int[] chatPromptIds(Model llama) throws IOException {
    List<ChatMessage> messages = new ArrayList<>();
    if (system != null) {
      messages.add(ChatMessage.system(system));
    }
    if (messagesFile != null) {
      messages.addAll(readMessages(messagesFile));
    }
    if (prompt != null) {
      messages.add(ChatMessage.user(prompt));
    }
    if (messages.isEmpty() || (prompt == null && messagesFile == null)) {
      throw new IllegalArgumentException("--chat needs --prompt or --messages");
    }
    ModelChatTemplate chatTemplate = ModelChatTemplate.forModel(llama);
    if (chatTemplate.fallback()) {
      spec.commandLine()
          .getErr()
          .println(
              "duet: "
                  + java.nio.file.Path.of(llama.source()).getFileName()
                  + " has no chat template; using the plain 'User: ...' transcript fallback");
    }
    String rendered = chatTemplate.template().render(messages, true);
    if (noBos) {
      return llama.tokenizer().encode(rendered, false, true);
    }
    return ChatPromptEncoder.encode(llama.tokenizer(), rendered);
  }

  private static List<ChatMessage> readMessages(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("messages file " + file + " does not exist");
    }
    try {
      return ChatMessage.listFromJson(new ObjectMapper().readTree(file.toFile()));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
