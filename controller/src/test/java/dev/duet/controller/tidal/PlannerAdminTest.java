package dev.duet.controller.tidal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.gateway.TestCluster;
import dev.duet.controller.planner.Action;
import dev.duet.controller.planner.Decision;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.sim.LatencyProfile;
import dev.duet.engine.sim.LatencyProfile.Coefficients;
import dev.duet.engine.sim.LatencyProfile.Geometry;
import dev.duet.engine.sim.SimModel;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The policy and planner endpoints over real HTTP on a controller with a prefill and a decode sim
 * worker: auth, the policy with its version, 422 listing every error, a dry run that changes
 * nothing, and a PUT that the planner loop's next round plans with.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PlannerAdminTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BEARER = "Bearer " + TestCluster.ADMIN_TOKEN;
  private static final LatencyProfile PROFILE =
      new LatencyProfile(
          "test",
          new Coefficients(0.5, 0.005, 1e-6),
          new Coefficients(0.5, 0.01, 1e-5),
          new Geometry(4, 4, 2, 16, 64, 128, KvDtype.BF16, 2000, 512));

  static TestCluster cluster;
  static final PolicyStore policies = new PolicyStore(Clock.systemUTC());
  static PlannerLoop planner;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    cluster =
        new TestCluster(
            SimModel.create(PROFILE, 1, 1),
            "sim",
            List.of("prefill", "decode"),
            256,
            Duration.ZERO);
    planner = cluster.wirePlanner(policies);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static HttpResponse<String> call(String method, String path, String auth, String body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(cluster.uri(path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (auth != null) {
      b.header("Authorization", auth);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void policyAndPlannerNeedTheToken() throws Exception {
    for (String[] c :
        new String[][] {
          {"GET", "/admin/v1/policy"}, {"PUT", "/admin/v1/policy"}, {"GET", "/admin/v1/planner"}
        }) {
      assertThat(call(c[0], c[1], null, "slo: {}").statusCode()).isEqualTo(401);
      assertThat(call(c[0], c[1], "Bearer wrong-token-0123456789", "slo: {}").statusCode())
          .isEqualTo(403);
    }
  }

  @Test
  void anInvalidPolicyIs422ListingEveryErrorWithItsPathAndChangesNothing() throws Exception {
    long before = policies.current().version();
    HttpResponse<String> r =
        call(
            "PUT",
            "/admin/v1/policy",
            BEARER,
            "slo:\n  ttftMs: -5\nbudget:\n  maxInstances: 1\nplanner:\n  nope: 3\n");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
    JsonNode e = JSON.readTree(r.body()).path("error");
    assertThat(e.path("code").asText()).isEqualTo("invalid_policy");
    assertThat(e.path("message").asText())
        .contains("slo.ttftMs: -5: ")
        .contains("budget.maxInstances: 1: ")
        .contains("planner.nope: 3: unknown key");
    assertThat(policies.current().version()).isEqualTo(before);
  }

  @Test
  void aDryRunAnswersTheDecisionUnderTheCandidateAndChangesNothing() throws Exception {
    long before = policies.current().version();
    var lastBefore = planner.planner().last();
    long now = System.currentTimeMillis();
    Decision underCurrent =
        planner.planner().dryRun(policies.current().policy(), now, planner.instances(now));
    assertThat(underCurrent.group("default").targetDecode())
        .as("the current policy allows fewer decode instances than the candidate's minimum")
        .isLessThan(3);

    HttpResponse<String> r =
        call(
            "PUT",
            "/admin/v1/policy?dryRun=true",
            BEARER,
            "budget:\n  maxInstances: 5\nroles:\n  decode:\n    min: 3\n    max: 4\n");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode j = JSON.readTree(r.body());
    assertThat(j.path("dry_run").asBoolean()).isTrue();
    assertThat(j.at("/policy/budget/maxInstances").asInt()).isEqualTo(5);
    assertThat(j.at("/policy/roles/decode/min").asInt()).isEqualTo(3);
    assertThat(j.at("/decision/groups/0/group").asText()).isEqualTo("default");
    assertThat(j.at("/decision/groups/0/currentPrefill").asInt()).isEqualTo(1);
    assertThat(j.at("/decision/groups/0/currentDecode").asInt()).isEqualTo(1);
    assertThat(j.at("/decision/groups/0/targetDecode").asInt())
        .as("the candidate's decode minimum, not the current policy's: " + j.path("decision"))
        .isBetween(3, 4);
    assertThat(
            j.at("/decision/groups/0/targetPrefill").asInt()
                + j.at("/decision/groups/0/targetDecode").asInt())
        .as("within the candidate's budget")
        .isLessThanOrEqualTo(5);
    assertThat(j.at("/decision/why").size()).isPositive();
    assertThat(policies.current().version()).isEqualTo(before);
    assertThat(planner.planner().last()).isEqualTo(lastBefore);
    assertThat(
            JSON.readTree(call("GET", "/admin/v1/policy", BEARER, null).body())
                .path("version")
                .asLong())
        .isEqualTo(before);
  }

  @Test
  void aPutPolicyBumpsTheVersionAndTheLoopsNextRoundPlansWithItAndWithTheTraffic()
      throws Exception {
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> c =
          call(
              "POST",
              "/v1/completions",
              null,
              "{\"model\":\"sim\",\"prompt\":[5,6,7,8,9,10],\"max_tokens\":4}");
      assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
    }
    long before = policies.current().version();
    Decision underOld = planner.round();
    assertThat(underOld.group("default").targetDecode())
        .as("the policy before the PUT allows fewer decode instances than the new one's minimum")
        .isLessThan(2);
    String yaml =
        "planner:\n  intervalSeconds: 5\nbudget:\n  maxInstances: 3\n"
            + "roles:\n  decode:\n    min: 2\n    max: 4\n";
    HttpResponse<String> r = call("PUT", "/admin/v1/policy?who=alice", BEARER, yaml);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(JSON.readTree(r.body()).path("version").asLong()).isEqualTo(before + 1);
    assertThat(JSON.readTree(r.body()).path("who").asText()).isEqualTo("alice");

    JsonNode got = JSON.readTree(call("GET", "/admin/v1/policy", BEARER, null).body());
    assertThat(got.path("version").asLong()).isEqualTo(before + 1);
    assertThat(got.path("source").asText()).isEqualTo(yaml);
    assertThat(got.at("/policy/planner/intervalSeconds").asInt()).isEqualTo(5);

    Decision d = planner.round();
    assertThat(planner.policyVersion()).isEqualTo(before + 1);
    assertThat(d.group("default").forecast().arrivalsPerS()).isPositive();
    assertThat(d.group("default").targetDecode()).as("the new decode minimum").isEqualTo(2);
    assertThat(d.group("default").targetPrefill()).as("within the new budget of 3").isEqualTo(1);
    assertThat(d.actions())
        .as("one decode instance more, and no more than the budget: " + d.why())
        .singleElement()
        .isInstanceOfSatisfying(
            Action.ScaleUp.class, a -> assertThat(a.role()).isEqualTo(InstanceRole.DECODE));

    JsonNode p = JSON.readTree(call("GET", "/admin/v1/planner", BEARER, null).body());
    assertThat(p.path("running").asBoolean()).isFalse();
    assertThat(p.path("flips_available").asBoolean()).isTrue();
    assertThat(p.at("/counts/flipsDone").asLong()).isZero();
    assertThat(p.path("policy_version").asLong()).isEqualTo(before + 1);
    assertThat(p.at("/last/groups/0/forecast/arrivalsPerS").asDouble()).isPositive();
    assertThat(p.at("/last/why").toString()).contains("default: forecast");
  }
}
