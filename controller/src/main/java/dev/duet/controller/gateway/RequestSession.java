package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.sampling.SamplingParams;

/**
 * One request the controller is serving: what it needs to move it (live migration) or to continue
 * it elsewhere when its instance fails (recovery): the prompt ids, the sampling parameters with
 * their seed, the KV it reserves, and the client's answer, which knows the tokens delivered and the
 * instance streaming now.
 *
 * <p>Threading: the controller's event loop (the flags are volatile for the admin API's reads).
 */
final class RequestSession {

  final String id;

  /** Its scenario group: migration and recovery keep it on that group's instances. */
  final String group;

  final int[] prompt;
  final SamplingParams params;
  final int lifetimeTokens;

  /** The worker request body ({@code id}, {@code prompt_ids}, {@code params}, ...). */
  final ObjectNode upstream;

  final ClientStream stream;
  final long startNanos;

  /** The event loop context the client's answer lives on: everything about it runs there. */
  final io.vertx.core.Context context;

  volatile boolean migrating;
  int recoveries;

  RequestSession(
      String id,
      String group,
      int[] prompt,
      SamplingParams params,
      int lifetimeTokens,
      ObjectNode upstream,
      ClientStream stream) {
    this.id = id;
    this.group = java.util.Objects.requireNonNull(group, "group");
    this.prompt = prompt.clone();
    this.params = params;
    this.lifetimeTokens = lifetimeTokens;
    this.upstream = upstream;
    this.stream = stream;
    this.startNanos = System.nanoTime();
    this.context = io.vertx.core.Vertx.currentContext();
  }

  /** The instance streaming this request's tokens now (null before the first one). */
  String instance() {
    return stream.instance();
  }

  /** Tokens delivered to the client so far. */
  int generated() {
    return stream.tokenCount();
  }
}
