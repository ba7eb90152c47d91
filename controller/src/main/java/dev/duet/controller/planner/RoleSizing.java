package dev.duet.controller.planner;

import dev.duet.controller.policy.PlannerSettings;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.InstanceRole;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * How many instances of each role a group needs for a forecast under its SLO: the formulas of
 * {@code docs/planner.md}. Pure functions; thread-safe.
 */
final class RoleSizing {
  private RoleSizing() {}

  /**
   * Per-instance capacities of a group: means of its instances' measurements, else the cluster's,
   * else the policy default.
   */
  record Capacities(double prefill, double decode, double maxBatch, double kvTokens) {}

  static Capacities capacities(
      String group, List<InstanceState> all, PlannerSettings.Capacity defaults) {
    return new Capacities(
        mean(
            group,
            all,
            InstanceRole.PREFILL,
            InstanceState::prefillTokensPerS,
            defaults.prefillTokensPerS()),
        mean(
            group,
            all,
            InstanceRole.DECODE,
            InstanceState::decodeTokensPerS,
            defaults.decodeTokensPerS()),
        mean(group, all, InstanceRole.DECODE, InstanceState::maxBatch, defaults.maxBatch()),
        mean(group, all, InstanceRole.DECODE, InstanceState::kvTokens, 0));
  }

  private static double mean(
      String group,
      List<InstanceState> all,
      InstanceRole role,
      ToDoubleFunction<InstanceState> measure,
      double fallback) {
    var own =
        all.stream()
            .filter(i -> i.group().equals(group) && i.role() == role)
            .mapToDouble(measure)
            .filter(v -> v > 0)
            .average();
    if (own.isPresent()) {
      return own.getAsDouble();
    }
    return all.stream()
        .filter(i -> i.role() == role)
        .mapToDouble(measure)
        .filter(v -> v > 0)
        .average()
        .orElse(fallback);
  }

  /**
   * Prefill: instances {@code = Λp / (C·c·ρ)} with {@code ρ} the utilization at which an M/D/1
   * queue of mean-prompt jobs keeps the mean TTFT within the SLO.
   */
  static Sizing prefill(
      LoadRates forecast,
      GroupLoad observed,
      double capacity,
      int current,
      Policy.Slo slo,
      PlannerSettings s,
      List<String> why) {
    String g = observed.group();
    double c = 1;
    double obsPrompt = observed.rates().meanPromptTokens();
    if (observed.ttft().samples() >= s.correction().minSamples() && current > 0 && obsPrompt > 0) {
      double service = obsPrompt / capacity; // s per mean prompt on one instance
      double rho = observed.rates().promptTokensPerS() / (current * capacity);
      if (rho < 1 && observed.ttft().meanMs() > 0) {
        double expectedMs = 1000 * mdOneWait(service, rho);
        c = s.correction().clamp(expectedMs / observed.ttft().meanMs());
        why.add(
            String.format(
                "%s: prefill correction %.2f (model TTFT %.0f ms, observed %.0f ms)",
                g, c, expectedMs, observed.ttft().meanMs()));
      }
    }
    double meanPrompt = forecast.arrivalsPerS() > 0 ? forecast.meanPromptTokens() : obsPrompt;
    double rho = s.maxUtilization();
    if (meanPrompt > 0) {
      double service = meanPrompt / (capacity * c);
      double k = slo.ttftMs() / 1000 / service - 1;
      if (k <= 0) {
        why.add(
            String.format(
                "%s: a mean prompt (%.0f tokens) alone takes %.0f ms to prefill, over the %.0f ms TTFT"
                    + " SLO; sizing for throughput only",
                g, meanPrompt, 1000 * service, slo.ttftMs()));
      } else {
        rho = Math.min(rho, 2 * k / (1 + 2 * k));
      }
    }
    return Sizing.of(capacity, c, rho, forecast.promptTokensPerS() / (capacity * c * rho));
  }

  /**
   * Decode: instances {@code = max(Λd / (C·c·ρmax), L / B, L·(P̄ + Ō) / (K·ρmax))}: output tokens
   * against corrected throughput; the streams in flight at SLO pace ({@code L = λ·Ō·TPOT}) against
   * batch slots; and their KV (a stream holds blocks for its prompt and its whole output from
   * admission on) against the instances' KV cache of {@code K} tokens, when workers report it.
   */
  static Sizing decode(
      LoadRates forecast,
      GroupLoad observed,
      Capacities cap,
      int current,
      double runningPerInstance,
      Policy.Slo slo,
      PlannerSettings s,
      List<String> why) {
    String g = observed.group();
    double c = 1;
    if (observed.tpot().samples() >= s.correction().minSamples()
        && current > 0
        && observed.tpot().meanMs() > 0) {
      double expectedMs = 1000 * Math.max(1, runningPerInstance) / cap.decode();
      c = s.correction().clamp(expectedMs / observed.tpot().meanMs());
      why.add(
          String.format(
              "%s: decode correction %.2f (model TPOT %.1f ms at %.1f streams, observed %.1f ms)",
              g, c, expectedMs, runningPerInstance, observed.tpot().meanMs()));
    }
    double rho = s.maxUtilization();
    double byThroughput = forecast.outputTokensPerS() / (cap.decode() * c * rho);
    double streams = forecast.arrivalsPerS() * forecast.meanOutputTokens() * slo.tpotMs() / 1000;
    double bySlots = streams / cap.maxBatch();
    double byKv =
        cap.kvTokens() > 0
            ? streams
                * (forecast.meanPromptTokens() + forecast.meanOutputTokens())
                / (cap.kvTokens() * rho)
            : 0;
    if (byKv > Math.max(byThroughput, bySlots)) {
      why.add(
          String.format(
              "%s: decode is bound by KV memory: %.1f streams of %.0f tokens need %.2f instances"
                  + " of %.0f KV tokens",
              g,
              streams,
              forecast.meanPromptTokens() + forecast.meanOutputTokens(),
              byKv,
              cap.kvTokens()));
    }
    if (1000 / (cap.decode() * c) > slo.tpotMs()) {
      why.add(
          String.format(
              "%s: one stream alone decodes at %.0f ms/token, over the %.0f ms TPOT SLO",
              g, 1000 / (cap.decode() * c), slo.tpotMs()));
    }
    return Sizing.of(cap.decode(), c, rho, Math.max(byThroughput, Math.max(bySlots, byKv)));
  }

  /**
   * Mean time in an M/D/1 queue (waiting plus service) for service time {@code d} at load {@code
   * rho}.
   */
  static double mdOneWait(double d, double rho) {
    return d * (1 + rho / (2 * (1 - rho)));
  }
}
