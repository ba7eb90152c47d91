package dev.duet.controller.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyStoreTest {
  private final InstantSource clock = InstantSource.fixed(Instant.parse("2026-01-02T03:04:05Z"));

  @Test
  void startsAtVersionOneWithTheDefaults() {
    var store = new PolicyStore(clock);
    assertThat(store.current().version()).isEqualTo(1);
    assertThat(store.current().policy()).isEqualTo(Policy.defaults());
    assertThat(store.current().who()).isEqualTo("defaults");
  }

  @Test
  void anAcceptedReplacementBumpsTheVersionAndTellsListeners() {
    var store = new PolicyStore(clock);
    List<VersionedPolicy> heard = new ArrayList<>();
    store.addListener(heard::add);
    var outcome = store.replace("slo: {ttftMs: 500}\n", "alice");
    assertThat(outcome).isInstanceOf(PolicyStore.Outcome.Accepted.class);
    VersionedPolicy v = store.current();
    assertThat(v.version()).isEqualTo(2);
    assertThat(v.who()).isEqualTo("alice");
    assertThat(v.when()).isEqualTo(clock.instant());
    assertThat(v.source()).isEqualTo("slo: {ttftMs: 500}\n");
    assertThat(v.policy().slo().ttftMs()).isEqualTo(500);
    assertThat(heard).containsExactly(v);
  }

  @Test
  void aRejectedReplacementKeepsTheCurrentPolicyAndSaysWhy() {
    var store = new PolicyStore(clock);
    store.replace("budget: {maxInstances: 6}", "alice");
    List<VersionedPolicy> heard = new ArrayList<>();
    store.addListener(heard::add);
    var outcome = store.replace("budget: {maxInstances: 1}", "bob");
    assertThat(outcome)
        .isEqualTo(
            new PolicyStore.Outcome.Rejected(
                List.of(new PolicyError("budget.maxInstances", "1", "must be >= 2"))));
    assertThat(store.current().version()).isEqualTo(2);
    assertThat(store.current().policy().budget().maxInstances()).isEqualTo(6);
    assertThat(heard).isEmpty();
  }

  @Test
  void theFileWatcherReloadsAChangedFileAndKeepsTheOldPolicyWhenTheNewOneIsInvalid(
      @TempDir Path dir) throws Exception {
    Path file = dir.resolve("policy.yaml");
    Files.writeString(file, "slo: {ttftMs: 900}\n");
    var store = new PolicyStore(clock);
    try (var watcher = new PolicyFileWatcher(file, store)) {
      assertThat(watcher.checkNow()).isEqualTo(PolicyFileWatcher.Result.RELOADED);
      assertThat(watcher.checkNow()).isEqualTo(PolicyFileWatcher.Result.UNCHANGED);
      assertThat(store.current().version()).isEqualTo(2);
      assertThat(store.current().who()).isEqualTo("file:" + file);

      Files.writeString(file, "slo: {ttftMs: nine hundred}\n");
      assertThat(watcher.checkNow()).isEqualTo(PolicyFileWatcher.Result.REJECTED);
      assertThat(store.current().version()).isEqualTo(2);
      assertThat(store.current().policy().slo().ttftMs()).isEqualTo(900);

      Files.delete(file);
      assertThat(watcher.checkNow()).isEqualTo(PolicyFileWatcher.Result.UNREADABLE);
      assertThat(store.current().version()).isEqualTo(2);
    }
  }

  @Test
  void aStartedWatcherPicksUpAnEditWithoutBeingAsked(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("policy.yaml");
    Files.writeString(file, "slo: {tpotMs: 50}\n");
    var store = new PolicyStore(clock);
    try (var watcher = new PolicyFileWatcher(file, store).start(Duration.ofMillis(20))) {
      assertThat(store.current().policy().slo().tpotMs()).isEqualTo(50);
      Files.writeString(file, "slo: {tpotMs: 70}\n");
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> store.current().policy().slo().tpotMs() == 70);
      assertThat(store.current().version()).isEqualTo(3);
    }
  }
}
