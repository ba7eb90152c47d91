package dev.duet.cli.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;
import java.util.random.RandomGenerator;

/**
 * Request shapes for load generation: prompt and output lengths drawn from a trace's empirical
 * distribution (the Azure LLM inference traces' {@code ContextTokens,GeneratedTokens} columns) or
 * from a synthetic uniform range, capped to fit the served model's context.
 *
 * <p>Immutable; sampling takes the caller's random generator.
 */
public final class Workload {

  /**
   * One request's shape.
   *
   * @param promptTokens prompt length in tokens
   * @param outputTokens tokens to generate
   */
  public record Shape(int promptTokens, int outputTokens) {}

  private final String name;
  private final List<Shape> shapes;

  private Workload(String name, List<Shape> shapes) {
    if (shapes.isEmpty()) {
      throw new IllegalArgumentException("workload " + name + " has no requests");
    }
    this.name = name;
    this.shapes = List.copyOf(shapes);
  }

  /** Prompts of 32–256 tokens and outputs of 16–128, uniform. */
  public static Workload synthetic() {
    return uniform("synthetic", 32, 256, 16, 128);
  }

  /** Prompt and output lengths uniform over the given ranges (steps of 8 tokens). */
  public static Workload uniform(
      String name, int promptFrom, int promptTo, int outputFrom, int outputTo) {
    List<Shape> s = new ArrayList<>();
    for (int p = promptFrom; p <= promptTo; p += 8) {
      for (int o = outputFrom; o <= outputTo; o += 8) {
        s.add(new Shape(p, o));
      }
    }
    return new Workload(name, s);
  }

  /** The rows of an Azure trace CSV ({@code TIMESTAMP,ContextTokens,GeneratedTokens}). */
  public static Workload trace(String name, Path csv) {
    try {
      List<String> lines = Files.readAllLines(csv);
      List<Shape> s = new ArrayList<>(lines.size());
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).split(",");
        if (f.length < 3) {
          throw new IllegalArgumentException(csv + ":" + (i + 1) + ": expected 3 columns");
        }
        int prompt = Integer.parseInt(f[1].trim());
        int output = Integer.parseInt(f[2].trim());
        if (prompt > 0 && output > 0) {
          s.add(new Shape(prompt, output));
        }
      }
      return new Workload(name, s);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read trace " + csv + ": " + e.getMessage(), e);
    }
  }

  /** This workload with every output capped at {@code max} tokens. */
  public Workload capOutput(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("the output cap must be >= 1, got " + max);
    }
    return new Workload(
        name + " (outputs <= " + max + ")",
        shapes.stream()
            .map(s -> new Shape(s.promptTokens(), Math.min(s.outputTokens(), max)))
            .toList());
  }

  /**
   * The shapes whose prompt length is in {@code [min, max]} tokens: a class of a trace (its long
   * prompts, or its short ones).
   */
  public Workload prompts(int min, int max) {
    return keep("prompts", min, max, Shape::promptTokens);
  }

  /**
   * The shapes whose output length is in {@code [min, max]} tokens: a class of a trace (its long
   * answers, or its short ones).
   */
  public Workload outputs(int min, int max) {
    return keep("outputs", min, max, Shape::outputTokens);
  }

  /** The shapes whose {@code length} is in {@code [min, max]}, named after {@code what}. */
  private Workload keep(String what, int min, int max, ToIntFunction<Shape> length) {
    String range =
        max == Integer.MAX_VALUE
            ? what + " >= " + min
            : min <= 1 ? what + " <= " + max : what + " " + min + "–" + max;
    return new Workload(
        name + " (" + range + ")",
        shapes.stream()
            .filter(s -> length.applyAsInt(s) >= min && length.applyAsInt(s) <= max)
            .toList());
  }

  public String name() {
    return name;
  }

  public int size() {
    return shapes.size();
  }

  /**
   * A random shape, capped to a context of {@code context} tokens: the prompt to at most half of
   * it, the output to what is left.
   */
  public Shape sample(RandomGenerator random, int context) {
    Shape s = shapes.get(random.nextInt(shapes.size()));
    int prompt = Math.max(1, Math.min(s.promptTokens(), context / 2));
    int output = Math.max(1, Math.min(s.outputTokens(), context - prompt - 1));
    return new Shape(prompt, output);
  }
}
