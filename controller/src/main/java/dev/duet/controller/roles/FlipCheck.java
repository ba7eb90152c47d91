package dev.duet.controller.roles;

import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import java.util.List;
import java.util.Optional;

/**
 * Whether a role flip may start, from a snapshot of the cluster: no I/O, so the flipper and the
 * operator API ask the same question and get the same answer.
 *
 * <p>Threading: stateless.
 */
public final class FlipCheck {

  /** Why a flip may not start: the status the operator API answers, and a sentence. */
  public record Refusal(int status, String message) {}

  private FlipCheck() {}

  /**
   * @param alive the live instances now
   * @param id the instance to flip
   * @param to the role asked for
   * @param flipping whether a flip of {@code id} is under way
   * @param evenIfLast flip the last live instance of its role anyway
   * @return why not (404 unknown or dead, 400 a role other than prefill or decode, 409 a colocated
   *     instance, one flipping already, or the last of its role), or empty when it may start
   */
  public static Optional<Refusal> refusal(
      List<InstanceView> alive, String id, InstanceRole to, boolean flipping, boolean evenIfLast) {
    if (to == null || to == InstanceRole.BOTH) {
      return Optional.of(new Refusal(400, "an instance flips to prefill or decode, not " + to));
    }
    Optional<InstanceView> found = alive.stream().filter(i -> i.id().equals(id)).findFirst();
    if (found.isEmpty()) {
      return Optional.of(new Refusal(404, "no live instance " + id + " is known"));
    }
    InstanceRole from = found.get().descriptor().role();
    if (from == InstanceRole.BOTH) {
      return Optional.of(
          new Refusal(
              409, id + " is colocated (role both): only prefill and decode instances flip"));
    }
    if (flipping) {
      return Optional.of(new Refusal(409, "a flip of " + id + " is under way already"));
    }
    if (from != to && !evenIfLast && othersOfRole(alive, id, from) == 0) {
      return Optional.of(
          new Refusal(
              409,
              id
                  + " is the only live, uncordoned "
                  + from.wireName()
                  + " instance of group "
                  + found.get().descriptor().group()
                  + ": flipping it leaves none to serve its "
                  + from.wireName()
                  + " (force it to flip anyway)"));
    }
    return Optional.empty();
  }

  /**
   * Live, uncordoned instances of {@code role} other than {@code id}, in {@code id}'s scenario
   * group (each group keeps its own instances; the default group's only stand in for a group that
   * has none).
   */
  public static long othersOfRole(List<InstanceView> alive, String id, InstanceRole role) {
    String group =
        alive.stream()
            .filter(i -> i.id().equals(id))
            .map(i -> i.descriptor().group())
            .findFirst()
            .orElse(null);
    return alive.stream()
        .filter(
            i ->
                !i.id().equals(id)
                    && !i.cordoned()
                    && i.descriptor().role() == role
                    && (group == null || i.descriptor().group().equals(group)))
        .count();
  }
}
