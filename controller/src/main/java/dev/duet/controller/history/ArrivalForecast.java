package dev.duet.controller.history;

import java.util.OptionalDouble;

/**
 * The seam through which the planner shows its forecast on the dashboard: the client arrivals per
 * second it expects at a time. {@link ClusterHistory} asks once per sample, for the sample's time,
 * so the chart puts the forecast for each moment next to what arrived then.
 *
 * <p>Called from the history's sampling thread (the controller's event loop): it must be quick and
 * must not block; implementations synchronize as they need.
 */
@FunctionalInterface
public interface ArrivalForecast {

  /**
   * Expected client arrivals per second, all scenario groups together, at {@code epochMillis};
   * empty while there is no forecast yet (too little history).
   */
  OptionalDouble arrivalsPerSecondAt(long epochMillis);
}
