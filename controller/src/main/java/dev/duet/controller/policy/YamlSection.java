package dev.duet.controller.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One mapping of a parsed policy document, read key by key: every read falls back to a default when
 * the key is absent and records a {@link PolicyError} (with the key's path) when the value is the
 * wrong type or out of range, so one pass over a document reports all its errors. Keys the section
 * does not know are errors too. Not thread-safe; lives for one parse.
 */
final class YamlSection {
  private final JsonNode node;
  private final String path;
  private final List<PolicyError> errors;

  /** A section over {@code node} (missing or null: empty), allowing only {@code keys}. */
  YamlSection(JsonNode node, String path, List<PolicyError> errors, String... keys) {
    this.path = path;
    this.errors = errors;
    if (node == null || node.isMissingNode() || node.isNull()) {
      this.node = null;
    } else if (!node.isObject()) {
      errors.add(new PolicyError(display(path), show(node), "must be a mapping"));
      this.node = null;
    } else {
      this.node = node;
      Set<String> allowed = Set.of(keys);
      node.fieldNames()
          .forEachRemaining(
              k -> {
                if (!allowed.contains(k)) {
                  errors.add(
                      new PolicyError(
                          path(k), show(node.get(k)), "unknown key (known: " + sorted(keys) + ")"));
                }
              });
    }
  }

  boolean present() {
    return node != null;
  }

  boolean has(String key) {
    return node != null && node.has(key) && !node.get(key).isNull();
  }

  String path(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  YamlSection section(String key, String... keys) {
    return new YamlSection(node == null ? null : node.get(key), path(key), errors, keys);
  }

  /**
   * A number, or {@code def}; an error unless {@code lo < v} ({@code loOpen}) or {@code lo <= v},
   * and {@code v <= hi}.
   */
  double number(String key, double def, double lo, boolean loOpen, double hi) {
    if (!has(key)) {
      return def;
    }
    JsonNode v = node.get(key);
    if (!v.isNumber()) {
      error(key, v, "must be a number");
      return def;
    }
    double d = v.doubleValue();
    boolean ok = (loOpen ? d > lo : d >= lo) && d <= hi;
    if (!ok) {
      error(key, v, "must be " + range(lo, loOpen, hi));
      return def;
    }
    return d;
  }

  /** A whole number in {@code [lo, hi]}, or {@code def}. */
  long whole(String key, long def, long lo, long hi) {
    if (!has(key)) {
      return def;
    }
    JsonNode v = node.get(key);
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      error(key, v, "must be a whole number");
      return def;
    }
    long n = v.longValue();
    if (n < lo || n > hi) {
      error(key, v, "must be " + range(lo, false, hi));
      return def;
    }
    return n;
  }

  int integer(String key, int def, int lo, int hi) {
    return (int) whole(key, def, lo, hi);
  }

  boolean bool(String key, boolean def) {
    if (!has(key)) {
      return def;
    }
    JsonNode v = node.get(key);
    if (!v.isBoolean()) {
      error(key, v, "must be true or false");
      return def;
    }
    return v.booleanValue();
  }

  /** A non-blank string, or empty when absent (or wrong, with an error). */
  Optional<String> text(String key) {
    if (!has(key)) {
      return Optional.empty();
    }
    JsonNode v = node.get(key);
    if (!v.isTextual() || v.textValue().isBlank()) {
      error(key, v, "must be a non-empty string");
      return Optional.empty();
    }
    return Optional.of(v.textValue());
  }

  /** The items of a list, or none when absent (or not a list, with an error). */
  List<JsonNode> list(String key) {
    if (!has(key)) {
      return List.of();
    }
    JsonNode v = node.get(key);
    if (!v.isArray()) {
      error(key, v, "must be a list");
      return List.of();
    }
    var items = new ArrayList<JsonNode>();
    v.forEach(items::add);
    return items;
  }

  /** The raw value of {@code key} as written, for error messages. */
  String shown(String key) {
    return has(key) ? show(node.get(key)) : "<missing>";
  }

  void error(String key, JsonNode value, String reason) {
    errors.add(new PolicyError(path(key), show(value), reason));
  }

  /** An error about a key of this section, with the value shown as given. */
  void error(String key, String value, String reason) {
    errors.add(new PolicyError(path(key), value, reason));
  }

  /** An error about this section itself. */
  void errorHere(String value, String reason) {
    errors.add(new PolicyError(display(path), value, reason));
  }

  static String show(JsonNode v) {
    if (v == null || v.isMissingNode()) {
      return "<missing>";
    }
    return v.isTextual() ? v.textValue() : v.toString();
  }

  private static String display(String path) {
    return path.isEmpty() ? "<document>" : path;
  }

  private static String range(double lo, boolean loOpen, double hi) {
    String low = (loOpen ? "> " : ">= ") + num(lo);
    return hi == Double.MAX_VALUE || hi == Long.MAX_VALUE || hi == Integer.MAX_VALUE
        ? low
        : (loOpen ? "in (" : "in [") + num(lo) + ", " + num(hi) + "]";
  }

  private static String num(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }

  private static String sorted(String... keys) {
    return String.join(", ", new TreeSet<>(List.of(keys)));
  }
}
