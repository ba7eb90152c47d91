package dev.duet.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.engine.exec.Generation;
import dev.duet.engine.exec.GenerationSnapshot;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side of a live migration (decode → decode over kv-transfer). The target has reserved
 * blocks and answered a ticket. Stage by stage, the request's KV is copied into them while it keeps
 * decoding here: first everything it has, then what it added meanwhile; when what is left is at
 * most {@link Options#deltaTokens()} positions, the request is frozen between two steps, the last
 * delta is copied, a notify confirms every byte is in place, and the snapshot (tokens so far,
 * sampler state, stop state) goes back to the controller, which resumes it on the target and then
 * commits here ({@code migratedAway}: blocks freed) or aborts ({@code unfreeze}: it decodes on
 * here). Each abort path leaves the request running here with every block accounted for.
 *
 * <p>Threading: {@link #migrate} blocks; run it off the event loop and off the step thread (it
 * talks to the step loop through {@link StepLoop#call}).
 */
final class MigrationSource {

  private static final Logger LOG = LoggerFactory.getLogger(MigrationSource.class);
  private static final long TIMEOUT_S = 30;

  /**
   * Limits.
   *
   * @param maxStages copies made while the request keeps decoding before giving up (0: freeze at
   *     once, or give up when more than {@code deltaTokens} positions are to copy)
   * @param deltaTokens positions left to copy at or under which the request is frozen
   */
  record Options(int maxStages, int deltaTokens) {
    Options {
      if (maxStages < 0 || deltaTokens < 1) {
        throw new IllegalArgumentException(
            "maxStages must be >= 0 and deltaTokens >= 1, got " + maxStages + ", " + deltaTokens);
      }
    }
  }

  /**
   * A migration ready to commit.
   *
   * @param snapshot the frozen request's state
   * @param stages copies made, the last one included
   * @param bytes KV bytes written to the target
   * @param frozenAtNanos {@link System#nanoTime()} when the request stopped decoding here
   */
  record Prepared(GenerationSnapshot snapshot, int stages, long bytes, long frozenAtNanos) {}

  /** Why a migration did not happen; the request decodes on here. */
  static final class Aborted extends Exception {
    final String outcome;

    Aborted(String outcome, String message) {
      super(message);
      this.outcome = outcome;
    }
  }

  private record View(int kvLength, int[] blocks, String where) {}

  private record Frozen(GenerationSnapshot snapshot, int[] blocks, long atNanos) {}

  private final StepLoop loop;
  private final KvHandoff kv;

  MigrationSource(StepLoop loop, KvHandoff kv) {
    this.loop = loop;
    this.kv = kv;
  }

  /** Copies {@code id}'s KV into {@code ticket}'s blocks and freezes it (see the class comment). */
  Prepared migrate(String id, JsonNode ticket, Options options) throws Aborted {
    KvHandoff.Target target;
    try {
      target = kv.destination(ticket);
    } catch (RuntimeException e) {
      throw new Aborted("target_failed", "cannot reach the target: " + e.getMessage());
    }
    int copied = 0;
    int stages = 0;
    long bytes = 0;
    while (true) {
      View v = await(loop.call(s -> view(s.decoding(id), s.where(id))));
      if (v.blocks() == null) {
        throw new Aborted("request_finished", id + " is not decoding here (" + v.where() + ")");
      }
      if (v.kvLength() - copied <= options.deltaTokens()) {
        break;
      }
      if (stages == options.maxStages()) {
        throw new Aborted(
            "gave_up",
            id
                + ": still "
                + (v.kvLength() - copied)
                + " positions to copy after "
                + stages
                + " stages (it decodes faster than it copies)");
      }
      bytes += copy(target, v.blocks(), copied, v.kvLength(), id, false);
      copied = v.kvLength();
      stages++;
    }
    Frozen frozen =
        await(
            loop.call(
                s -> {
                  Generation g = s.freeze(id);
                  return g == null
                      ? null
                      : new Frozen(g.snapshot(), g.kv().blockIds(), System.nanoTime());
                }));
    if (frozen == null) {
      throw new Aborted("request_finished", id + " finished before its last stage");
    }
    GenerationSnapshot snap = frozen.snapshot();
    bytes += copy(target, frozen.blocks(), copied, snap.kvLength(), id, true);
    try {
      target.commit(snap.kvLength()).get(TIMEOUT_S, TimeUnit.SECONDS);
    } catch (Exception e) {
      await(loop.call(s -> s.unfreeze(id)));
      throw new Aborted("target_failed", id + ": the target did not confirm the copy: " + e);
    }
    return new Prepared(snap, stages + 1, bytes, frozen.atNanos());
  }

  private long copy(
      KvHandoff.Target target, int[] blocks, int from, int to, String id, boolean last)
      throws Aborted {
    try {
      return target.copy(blocks, from, to).get(TIMEOUT_S, TimeUnit.SECONDS);
    } catch (Exception e) {
      if (last) {
        await(loop.call(s -> s.unfreeze(id)));
      }
      LOG.warn("migration of {}: copy to the target failed: {}", id, e.toString());
      throw new Aborted("target_failed", id + ": copying to the target failed: " + e);
    }
  }

  private static View view(Generation g, String where) {
    return g == null
        ? new View(0, null, where)
        : new View(g.kv().length(), g.kv().blockIds(), where);
  }

  private static <T> T await(java.util.concurrent.CompletableFuture<T> f) {
    try {
      return f.get(TIMEOUT_S, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new CompletionException(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the step loop did not answer in " + TIMEOUT_S + " s", e);
    }
  }
}
