package dev.duet.controller.planner;

import dev.duet.controller.registry.InstanceRole;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Turns one round's targets into actions, cheapest first: flips within a group (capped per round,
 * per-instance and flip-back cooldowns), then scale-downs and scale-ups of the part of a group's
 * change that flips cannot cover (scale cooldown, the budget). Never takes a role's last serving
 * instance while traffic flows. One instance per round; not thread-safe.
 */
final class ChangeOrders {
  private final Planner.Input in;
  private final List<String> why;
  private final List<Action> actions = new ArrayList<>();
  private final Set<String> taken = new HashSet<>();
  private final long flipCooldownMs;
  private final long scaleCooldownMs;
  private PlannerHistory history;
  private int flipsLeft;
  private int instances;

  ChangeOrders(Planner.Input in, List<String> why) {
    this.in = in;
    this.why = why;
    this.history = in.history();
    var s = in.policy().planner();
    this.flipCooldownMs = s.cooldowns().flipSeconds() * 1000;
    this.scaleCooldownMs = s.cooldowns().scaleSeconds() * 1000;
    this.flipsLeft = s.maxFlipsPerInterval();
    this.instances = in.instances().size();
  }

  List<Action> actions() {
    return actions;
  }

  PlannerHistory history() {
    return history;
  }

  void flips(Planner.GroupWork w) {
    int dp = w.targetPrefill - w.currentPrefill;
    int dd = w.targetDecode - w.currentDecode;
    if (dp > 0 && dd < 0) {
      flip(w, InstanceRole.DECODE, InstanceRole.PREFILL, Math.min(dp, -dd));
    } else if (dp < 0 && dd > 0) {
      flip(w, InstanceRole.PREFILL, InstanceRole.DECODE, Math.min(-dp, dd));
    }
  }

  private void flip(Planner.GroupWork w, InstanceRole from, InstanceRole to, int want) {
    long now = in.nowMillis();
    PlannerHistory.Group h = history.of(w.name);
    if (h.lastFlipTo().equals(Optional.of(from))
        && !PlannerHistory.cooled(now, h.lastFlipMillis(), flipCooldownMs)) {
      why.add(
          String.format(
              "%s: %d %s → %s flip(s) held: the group flipped the other way %d s ago (cooldown %d s)",
              w.name,
              want,
              name(from),
              name(to),
              (now - h.lastFlipMillis()) / 1000,
              flipCooldownMs / 1000));
      return;
    }
    List<InstanceState> serving = serving(w.name, from);
    // prefill → decode: the shortest queue finishes first; decode → prefill: fewest to migrate
    Comparator<InstanceState> cheapest =
        from == InstanceRole.PREFILL
            ? Comparator.comparingLong(InstanceState::queuedPromptTokens)
            : Comparator.comparingInt(InstanceState::running);
    List<InstanceState> candidates =
        serving.stream()
            .filter(i -> PlannerHistory.cooled(now, i.roleSinceMillis(), flipCooldownMs))
            .sorted(
                cheapest.thenComparingInt(InstanceState::running).thenComparing(InstanceState::id))
            .toList();
    int floor = w.flowing ? 1 : 0;
    int done = 0;
    // a decode instance's streams migrate to the group's other decode instances: their free KV
    // must hold them and leave a tenth of it for the arrivals meanwhile
    long othersFree = serving.stream().mapToLong(InstanceState::freeKvTokens).sum();
    long othersTotal = serving.stream().mapToLong(InstanceState::kvTokens).sum();
    String kvHeld = null;
    for (InstanceState i : candidates) {
      if (done == want || flipsLeft == 0 || serving.size() - done - 1 < floor) {
        break;
      }
      if (from == InstanceRole.DECODE && i.kvTokens() > 0) {
        long used = Math.max(0, i.kvTokens() - i.freeKvTokens());
        long room = othersFree - i.freeKvTokens() - (othersTotal - i.kvTokens()) / 10;
        if (used > room) {
          kvHeld =
              kvHeld != null
                  ? kvHeld
                  : String.format(
                      "%s holds %d tokens of KV, the other decode instances have room for %d",
                      i.id(), used, Math.max(0, room));
          continue;
        }
        othersFree -= i.freeKvTokens() + used;
        othersTotal -= i.kvTokens();
      }
      actions.add(new Action.Flip(i.id(), w.name, from, to));
      taken.add(i.id());
      why.add(
          String.format(
              "%s: flip %s %s → %s (%d running, %d prompt tokens queued)",
              w.name, i.id(), name(from), name(to), i.running(), i.queuedPromptTokens()));
      done++;
      flipsLeft--;
    }
    if (done < want) {
      String reason =
          flipsLeft == 0
              ? "the cap of " + in.policy().planner().maxFlipsPerInterval() + " flips per interval"
              : kvHeld != null
                  ? "their streams would not fit the rest: " + kvHeld
                  : serving.size() - done - 1 < floor && candidates.size() > done
                      ? "the last serving " + name(from) + " instance stays while traffic flows"
                      : "the other "
                          + name(from)
                          + " instances flipped or started less than "
                          + flipCooldownMs / 1000
                          + " s ago";
      why.add(
          String.format(
              "%s: %d of %d %s → %s flip(s) held: %s",
              w.name, want - done, want, name(from), name(to), reason));
    }
    if (done > 0) {
      w.afterPrefill += to == InstanceRole.PREFILL ? done : -done;
      w.afterDecode += to == InstanceRole.DECODE ? done : -done;
      history =
          history.with(w.name, new PlannerHistory.Group(now, Optional.of(to), h.lastScaleMillis()));
    }
  }

  void scaleDowns(Planner.GroupWork w) {
    int shrink = (w.currentPrefill + w.currentDecode) - (w.targetPrefill + w.targetDecode);
    if (shrink <= 0 || !scaleCooled(w, "down", shrink)) {
      return;
    }
    int done = 0;
    for (InstanceRole role : new InstanceRole[] {InstanceRole.PREFILL, InstanceRole.DECODE}) {
      int surplus =
          role == InstanceRole.PREFILL
              ? w.afterPrefill - w.targetPrefill
              : w.afterDecode - w.targetDecode;
      List<InstanceState> serving = serving(w.name, role);
      List<InstanceState> idlest =
          serving.stream()
              .sorted(
                  Comparator.comparingInt(InstanceState::running)
                      .thenComparingLong(InstanceState::queuedPromptTokens)
                      .thenComparing(InstanceState::id))
              .toList();
      int floor = w.flowing ? 1 : 0;
      int n = 0;
      for (InstanceState i : idlest) {
        if (n == surplus || done == shrink || serving.size() - n - 1 < floor) {
          break;
        }
        actions.add(new Action.ScaleDown(i.id(), w.name, role));
        taken.add(i.id());
        why.add(
            String.format(
                "%s: scale down %s %s (%d running); it drains before it stops",
                w.name, name(role), i.id(), i.running()));
        n++;
        done++;
      }
    }
    if (done > 0) {
      scaled(w);
    }
  }

  void scaleUps(Planner.GroupWork w) {
    int grow = (w.targetPrefill + w.targetDecode) - (w.currentPrefill + w.currentDecode);
    if (grow <= 0 || !scaleCooled(w, "up", grow)) {
      return;
    }
    int max = in.policy().budget().maxInstances();
    int prefill = Math.max(0, w.targetPrefill - w.afterPrefill);
    int decode = Math.max(0, w.targetDecode - w.afterDecode);
    int done = 0;
    while (done < grow && (prefill > 0 || decode > 0)) {
      if (instances >= max) {
        why.add(
            String.format(
                "%s: %d more instance(s) wanted but the budget of %d is in use",
                w.name, grow - done, max));
        break;
      }
      InstanceRole role = prefill >= decode ? InstanceRole.PREFILL : InstanceRole.DECODE;
      if (role == InstanceRole.PREFILL) {
        prefill--;
      } else {
        decode--;
      }
      actions.add(new Action.ScaleUp(w.name, role));
      why.add(w.name + ": scale up one " + name(role) + " instance");
      instances++;
      done++;
    }
    if (done > 0) {
      scaled(w);
    }
  }

  private boolean scaleCooled(Planner.GroupWork w, String direction, int count) {
    long last = history.of(w.name).lastScaleMillis();
    if (PlannerHistory.cooled(in.nowMillis(), last, scaleCooldownMs)) {
      return true;
    }
    why.add(
        String.format(
            "%s: scaling %s by %d held: the group scaled %d s ago (cooldown %d s)",
            w.name, direction, count, (in.nowMillis() - last) / 1000, scaleCooldownMs / 1000));
    return false;
  }

  private void scaled(Planner.GroupWork w) {
    PlannerHistory.Group h = history.of(w.name);
    history =
        history.with(
            w.name, new PlannerHistory.Group(h.lastFlipMillis(), h.lastFlipTo(), in.nowMillis()));
  }

  /** The group's instances actively serving {@code role} and not yet given an action. */
  private List<InstanceState> serving(String group, InstanceRole role) {
    return in.instances().stream()
        .filter(i -> i.serves(group, role) && !taken.contains(i.id()))
        .toList();
  }

  private static String name(InstanceRole role) {
    return role.wireName();
  }
}
