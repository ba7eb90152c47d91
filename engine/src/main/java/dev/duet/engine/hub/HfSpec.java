package dev.duet.engine.hub;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model on the Hugging Face hub, as the user names it: {@code hf:ORG/REPO} (the repository, a
 * model directory), {@code hf:ORG/REPO/PATH/IN/REPO} (one file, e.g. a {@code .gguf}), either
 * followed by {@code @REVISION} (a branch, tag or commit sha; {@code main} when absent).
 *
 * <p>The revision is everything after the last {@code @}, so it may contain slashes ({@code
 * hf:ORG/REPO@refs/pr/1}); a file whose name contains {@code @} needs an explicit revision ({@code
 * hf:ORG/REPO/a@b.gguf@main}). Immutable value.
 *
 * @param org the user or organization, e.g. {@code TinyLlama}
 * @param repo the repository name, e.g. {@code TinyLlama-1.1B-Chat-v1.0}
 * @param path a file inside the repository ({@code /}-separated), empty for the whole repository
 * @param revision a branch, tag or commit sha
 */
public record HfSpec(String org, String repo, Optional<String> path, String revision) {

  /** The prefix that marks a hub spec. */
  public static final String PREFIX = "hf:";

  /** The revision used when the spec names none. */
  public static final String DEFAULT_REVISION = "main";

  private static final String FORM = "hf:ORG/REPO[/PATH][@REVISION]";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}");
  private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._/-]{1,255}");
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

  public HfSpec {
    requireName("ORG", org);
    requireName("REPO", repo);
    if (path == null) {
      throw new IllegalArgumentException("path must not be null (use Optional.empty())");
    }
    path.ifPresent(HfSpec::requirePath);
    if (revision == null || !REVISION.matcher(revision).matches() || hasBadSegment(revision)) {
      throw new IllegalArgumentException(
          "bad revision '" + revision + "' (a branch, tag or commit sha)");
    }
  }

  /** Whether {@code spec} is meant for this parser (starts with {@value #PREFIX}). */
  public static boolean isHubSpec(String spec) {
    return spec != null && spec.startsWith(PREFIX);
  }

  /**
   * Parses {@code hf:ORG/REPO[/PATH][@REVISION]}.
   *
   * @throws IllegalArgumentException naming the spec and what is wrong with it
   */
  public static HfSpec parse(String spec) {
    if (!isHubSpec(spec)) {
      throw new IllegalArgumentException("model spec '" + spec + "' does not start with " + PREFIX);
    }
    String rest = spec.substring(PREFIX.length());
    String revision = DEFAULT_REVISION;
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      revision = rest.substring(at + 1);
      rest = rest.substring(0, at);
      if (revision.isEmpty()) {
        throw bad(spec, "the revision after '@' is empty");
      }
    }
    String[] parts = rest.split("/", 3);
    if (parts.length < 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
      throw bad(spec, "it needs both ORG and REPO");
    }
    Optional<String> path = Optional.empty();
    if (parts.length == 3) {
      if (parts[2].isEmpty()) {
        throw bad(spec, "the path after ORG/REPO/ is empty");
      }
      path = Optional.of(parts[2]);
    }
    try {
      return new HfSpec(parts[0], parts[1], path, revision);
    } catch (IllegalArgumentException e) {
      throw bad(spec, e.getMessage());
    }
  }

  /** {@code ORG/REPO}, as the hub's URLs spell it. */
  public String repoId() {
    return org + "/" + repo;
  }

  /** Whether this names one file rather than the whole repository. */
  public boolean isFile() {
    return path.isPresent();
  }

  /** Whether the revision is a full commit sha (which never moves, so needs no lookup). */
  public boolean revisionIsCommit() {
    return isCommit(revision);
  }

  /** Whether {@code s} is a full 40-hex-digit commit sha. */
  static boolean isCommit(String s) {
    return COMMIT.matcher(s).matches();
  }

  /** This spec at another revision (e.g. the commit a branch resolved to). */
  public HfSpec withRevision(String newRevision) {
    return new HfSpec(org, repo, path, newRevision);
  }

  @Override
  public String toString() {
    return PREFIX + repoId() + path.map(p -> "/" + p).orElse("") + "@" + revision;
  }

  private static void requireName(String field, String value) {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "bad "
              + field
              + " '"
              + value
              + "' (letters, digits, '.', '_' and '-', starting with a letter or digit)");
    }
  }

  private static void requirePath(String path) {
    if (path.startsWith("/") || path.endsWith("/") || path.contains("\\") || hasBadSegment(path)) {
      throw new IllegalArgumentException(
          "bad path '" + path + "' (a file inside the repository, like model-q4_0.gguf)");
    }
  }

  private static boolean hasBadSegment(String slashed) {
    for (String segment : slashed.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        return true;
      }
    }
    return false;
  }

  private static IllegalArgumentException bad(String spec, String why) {
    return new IllegalArgumentException(
        "bad model spec '" + spec + "': " + why + "; expected " + FORM);
  }
}
