package dev.duet.controller.history;

import dev.duet.controller.gateway.LatencyWindow;
import dev.duet.controller.policy.Policy;
import java.util.Objects;

/**
 * One point of the cluster's history, taken by {@link ClusterHistory}. Immutable.
 *
 * @param epochMillis when it was taken, milliseconds since the epoch
 * @param roles live instances (alive, cordoned ones included) by role
 * @param running requests running on the live instances (their last heartbeats), summed
 * @param queued requests queued on the live instances, summed
 * @param freeKvBlocks free KV blocks on the live instances, summed
 * @param kvBlocks KV blocks the live instances have, summed
 * @param arrivalsPerS client requests per second since the previous sample
 * @param forecastArrivalsPerS the planner's forecast for this moment, NaN when there is none
 * @param latency TTFT and TPOT percentiles of the requests that finished since the previous sample
 * @param slo the current policy's SLO when the sample was taken
 */
public record HistorySample(
    long epochMillis,
    RoleCounts roles,
    long running,
    long queued,
    long freeKvBlocks,
    long kvBlocks,
    double arrivalsPerS,
    double forecastArrivalsPerS,
    LatencyWindow.Interval latency,
    Policy.Slo slo) {

  /** Live instances per role. */
  public record RoleCounts(int prefill, int decode, int both) {
    public RoleCounts {
      if (prefill < 0 || decode < 0 || both < 0) {
        throw new IllegalArgumentException(
            "role counts must be >= 0, got " + prefill + "/" + decode + "/" + both);
      }
    }

    /** Prefill per decode instance, NaN without a decode instance. */
    public double pdRatio() {
      return decode == 0 ? Double.NaN : (double) prefill / decode;
    }
  }

  public HistorySample {
    Objects.requireNonNull(roles, "roles");
    Objects.requireNonNull(latency, "latency");
    Objects.requireNonNull(slo, "slo");
    if (running < 0 || queued < 0 || freeKvBlocks < 0 || kvBlocks < 0) {
      throw new IllegalArgumentException(
          "load totals must be >= 0, got running "
              + running
              + ", queued "
              + queued
              + ", free "
              + freeKvBlocks
              + ", kv "
              + kvBlocks);
    }
    if (!(arrivalsPerS >= 0)) {
      throw new IllegalArgumentException("arrivalsPerS must be >= 0, got " + arrivalsPerS);
    }
    if (forecastArrivalsPerS < 0) {
      throw new IllegalArgumentException(
          "forecastArrivalsPerS must be >= 0 or NaN, got " + forecastArrivalsPerS);
    }
  }

  public boolean hasForecast() {
    return !Double.isNaN(forecastArrivalsPerS);
  }
}
