package dev.duet.controller.planner;

import dev.duet.controller.policy.PlannerSettings;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.StepTime;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
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
  record Capacities(
      double prefill, double decode, double maxBatch, double kvTokens, StepTime decodeStep) {}

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
        mean(group, all, InstanceRole.DECODE, InstanceState::kvTokens, 0),
        new StepTime(
            mean(group, all, InstanceRole.DECODE, i -> i.decodeStep().fixedMs(), 0),
            mean(group, all, InstanceRole.DECODE, i -> i.decodeStep().perRowMs(), 0)));
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
        // at most 1: the capacity is the fitted rate of full passes, which is the most an
        // instance does; a TTFT under the queue model's credited it with more than that, sized
        // prefill for a load it could not carry, and the overload that followed pinned the
        // correction at its floor (bench tidal: 1.32, one instance fewer, then 0.50 a minute on)
        c = Math.min(1, s.correction().clamp(expectedMs / observed.ttft().meanMs()));
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
   * Decode. With the instances' measured pass time {@code t(b) = f + r·b} (workers fit it): the
   * batch an instance can run is {@code b* = min((TPOT − f) / r, K / (P̄ + Ō))} (the batch whose
   * pass takes the TPOT SLO; the streams whose reserved KV fits; a decode instance takes every
   * handed-off request its KV holds, so batch slots do not bound it), it then generates {@code C =
   * b* / t(b*)} tokens/s, and instances {@code = Λd / (C·c·ρmax)}. Without a pass time: {@code
   * max(Λd / (C·c·ρmax), L / B, L·(P̄ + Ō) / (K·ρmax))} with {@code C} the measured throughput and
   * {@code L = λ·Ō·TPOT} the streams in flight at SLO pace.
   *
   * <p>A stream's KV is reserved when it is routed, before its prompt is prefilled, so the KV holds
   * streams still waiting for their first decode pass as well: {@code W}, the observed mean TTFT
   * (at most the TTFT SLO, the admission budget; 0 until {@code correction.minSamples} requests are
   * seen). Of the {@code K / (P̄ + Ō)} streams the KV holds, the fraction {@code Ō·t(b) / (Ō·t(b) +
   * W)} decode ({@link #decodingStreams}); without pass times {@code L} is {@code λ·(Ō·TPOT + W)}
   * in the KV term. At a prompt-heavy peak (Ō = 28, a pass of 60 ms, W of 1.5 s) that is half.
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
    StepTime t = cap.decodeStep();
    double rho = s.maxUtilization();
    double context = forecast.meanPromptTokens() + forecast.meanOutputTokens();
    double waitMs =
        observed.ttft().samples() >= s.correction().minSamples()
            ? Math.min(observed.ttft().meanMs(), slo.ttftMs())
            : 0;
    if (t.known()) {
      // a decode instance takes every handed-off request its KV holds (its max batch caps only
      // what it admits to prefill itself), so its batch is bound by the SLO and the KV alone
      double batch = cap.maxBatch();
      String bound = "batch slots (a pass costs the same at any batch)";
      if (t.perRowMs() > 0) {
        batch = (slo.tpotMs() - t.fixedMs()) / t.perRowMs();
        bound = "the TPOT SLO";
      }
      if (cap.kvTokens() > 0 && context > 0) {
        double fits = cap.kvTokens() / context;
        double held = decodingStreams(fits, forecast.meanOutputTokens(), waitMs, t);
        if (held < batch) {
          batch = held;
          bound =
              waitMs > 0
                  ? String.format(
                      "KV memory, %.0f of its %.0f streams' KV reserved before their first"
                          + " decode pass",
                      fits - held, fits)
                  : "KV memory";
        }
      }
      if (batch < 1) {
        why.add(
            String.format(
                "%s: one stream alone decodes at %.0f ms/token, over the %.0f ms TPOT SLO",
                g, t.ms(1), slo.tpotMs()));
        batch = 1;
      }
      double capacity = 1000 * batch / t.ms(batch);
      double c = decodeCorrection(observed, current, runningPerInstance, t::ms, s, why);
      why.add(
          String.format(
              "%s: decode pass %.1f + %.2f ms/row: %.0f streams (bound by %s) at %.1f ms/token,"
                  + " %.0f tok/s an instance",
              g, t.fixedMs(), t.perRowMs(), batch, bound, t.ms(batch), capacity));
      return Sizing.of(capacity, c, rho, forecast.outputTokensPerS() / (capacity * c * rho));
    }
    double c =
        decodeCorrection(
            observed, current, runningPerInstance, b -> 1000 * b / cap.decode(), s, why);
    double byThroughput = forecast.outputTokensPerS() / (cap.decode() * c * rho);
    double streams = forecast.arrivalsPerS() * forecast.meanOutputTokens() * slo.tpotMs() / 1000;
    double bySlots = streams / cap.maxBatch();
    double held = streams + forecast.arrivalsPerS() * waitMs / 1000;
    double byKv = cap.kvTokens() > 0 ? held * context / (cap.kvTokens() * rho) : 0;
    if (byKv > Math.max(byThroughput, bySlots)) {
      why.add(
          String.format(
              "%s: decode is bound by KV memory: %.1f streams of %.0f tokens need %.2f instances"
                  + " of %.0f KV tokens",
              g, held, context, byKv, cap.kvTokens()));
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
   * The streams decoding at once on an instance whose KV holds {@code reserved} streams, each
   * reserved {@code waitMs} before its first decode pass and then for {@code outputTokens} passes
   * of {@code t(b)} at the batch {@code b} it decodes in: the fixed point of {@code b = reserved ·
   * Ō·t(b) / (Ō·t(b) + W)} (Little's law over the two stages; {@code t} grows with {@code b}, so
   * iterating from {@code reserved} descends to it).
   */
  static double decodingStreams(double reserved, double outputTokens, double waitMs, StepTime t) {
    if (!(waitMs > 0) || !(outputTokens > 0)) {
      return reserved;
    }
    double b = reserved;
    for (int i = 0; i < 50; i++) {
      double decodeMs = outputTokens * t.ms(b);
      double next = reserved * decodeMs / (decodeMs + waitMs);
      if (Math.abs(next - b) < 1e-6) {
        return next;
      }
      b = next;
    }
    return b;
  }

  /**
   * The decode correction factor: the model's TPOT at the streams each instance runs ({@code
   * modelMs} of a stream count) over the observed mean TPOT, clamped; 1 until enough samples.
   */
  private static double decodeCorrection(
      GroupLoad observed,
      int current,
      double runningPerInstance,
      DoubleUnaryOperator modelMs,
      PlannerSettings s,
      List<String> why) {
    if (observed.tpot().samples() < s.correction().minSamples()
        || current == 0
        || !(observed.tpot().meanMs() > 0)) {
      return 1;
    }
    double expectedMs = modelMs.applyAsDouble(Math.max(1, runningPerInstance));
    double c = s.correction().clamp(expectedMs / observed.tpot().meanMs());
    why.add(
        String.format(
            "%s: decode correction %.2f (model TPOT %.1f ms at %.1f streams, observed %.1f ms)",
            observed.group(), c, expectedMs, runningPerInstance, observed.tpot().meanMs()));
    return c;
  }

  /**
   * Mean time in an M/D/1 queue (waiting plus service) for service time {@code d} at load {@code
   * rho}.
   */
  static double mdOneWait(double d, double rho) {
    return d * (1 + rho / (2 * (1 - rho)));
  }
}
