package dev.duet.controller.routing;

import dev.duet.controller.registry.InstanceView;
import java.util.List;
import java.util.Objects;

/**
 * Where to run a request: the decode instance that will hold its KV, and the prefill instances to
 * offer it to, in order, until one accepts. Immutable.
 *
 * @param decode the chosen decode instance (may be a {@code BOTH} instance)
 * @param prefillOrder prefill candidates, fittest first
 */
public record RoutePlan(InstanceView decode, List<InstanceView> prefillOrder) {
  public RoutePlan {
    Objects.requireNonNull(decode, "decode");
    prefillOrder = List.copyOf(prefillOrder);
    if (prefillOrder.isEmpty()) {
      throw new IllegalArgumentException("a route needs at least one prefill candidate");
    }
  }
}
