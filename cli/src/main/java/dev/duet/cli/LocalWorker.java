package dev.duet.cli;

import dev.duet.controller.registry.InstanceDescriptor;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One worker {@code duet local} starts: its role ({@code both}, {@code prefill}, {@code decode})
 * and the scenario group it serves ({@code duet worker --group}). Immutable.
 */
record LocalWorker(String role, String group) {

  /** The group of workers started without {@code --group}. */
  static final String DEFAULT_GROUP = InstanceDescriptor.DEFAULT_GROUP;

  private static final Pattern GROUP = Pattern.compile("([^=\\s]+)=(\\d+):(\\d+)");

  LocalWorker {
    if (role == null || group == null || group.isBlank()) {
      throw new IllegalArgumentException(
          "a worker needs a role and a group, got " + role + ", " + group);
    }
  }

  /** The workers of {@code --group NAME=PREFILL:DECODE}. */
  static List<LocalWorker> ofGroup(String option) {
    Matcher m = GROUP.matcher(option);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "--group must be NAME=PREFILL:DECODE (e.g. batch=1:2), got '" + option + "'");
    }
    int p = Integer.parseInt(m.group(2));
    int d = Integer.parseInt(m.group(3));
    if (p + d == 0) {
      throw new IllegalArgumentException("--group " + option + " starts no worker");
    }
    List<LocalWorker> out = new ArrayList<>();
    for (int i = 0; i < p; i++) {
      out.add(new LocalWorker("prefill", m.group(1)));
    }
    for (int i = 0; i < d; i++) {
      out.add(new LocalWorker("decode", m.group(1)));
    }
    return out;
  }

  /** Its {@code duet controller --start-workers} item: {@code ROLE} or {@code ROLE@GROUP}. */
  String startSpec() {
    return group.equals(DEFAULT_GROUP) ? role : role + "@" + group;
  }

  /** Its instance id without the index: {@code ROLE-} or {@code GROUP-ROLE-}. */
  String idPrefix() {
    return group.equals(DEFAULT_GROUP) ? role + "-" : group + "-" + role + "-";
  }
}
