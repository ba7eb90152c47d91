package dev.duet.controller.roles;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.gateway.TestCluster;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.roles.RoleFlipper.FlipResult;
import dev.duet.engine.sim.SimModel;
import dev.duet.engine.sim.SimProfiles;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The refusals of a role flip, on the operator API (with its bearer token) and on the workers
 * themselves, and a flip through the operator API end to end: a colocated worker, 400s, 404s, the
 * last instance of a role, a flip under way, a worker that still holds requests, work a role does
 * not take.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RoleAdminTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final SimModel model = SimModel.create(SimProfiles.named("h100-llama3-8b"), 16, 0.5);
  private final HttpClient http = HttpClient.newHttpClient();
  private TestCluster cluster;

  @BeforeEach
  void start() throws Exception {
    // w0 colocated, w1 prefill, w2 the only decode instance.
    cluster =
        new TestCluster(model, "sim", List.of("both", "prefill", "decode"), 64, Duration.ZERO);
  }

  @AfterEach
  void stop() {
    cluster.close();
    model.close();
  }

  private HttpResponse<String> admin(String instance, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(cluster.uri("/admin/v1/instances/" + instance + "/role"))
            .header("Authorization", "Bearer " + TestCluster.ADMIN_TOKEN)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> worker(String instance, String path, String body) throws Exception {
    String endpoint = cluster.registry.find(instance).orElseThrow().descriptor().endpoint();
    return http.send(
        HttpRequest.newBuilder(URI.create(endpoint + path))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String message(HttpResponse<String> r) throws Exception {
    return JSON.readTree(r.body()).at("/error/message").asText();
  }

  @Test
  void theOperatorApiRefusesBadRolesUnknownColocatedAndLastInstances() throws Exception {
    HttpResponse<String> bad = admin("w2", "{\"role\":\"chef\"}");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(bad.body()).at("/error/param").asText()).isEqualTo("role");
    assertThat(admin("w2", "{\"role\":\"prefill\",\"force\":\"yes\"}").statusCode()).isEqualTo(400);
    assertThat(admin("nope", "{\"role\":\"decode\"}").statusCode()).isEqualTo(404);
    HttpResponse<String> both = admin("w0", "{\"role\":\"decode\"}");
    assertThat(both.statusCode()).isEqualTo(409);
    assertThat(message(both)).contains("colocated");
    HttpResponse<String> last = admin("w2", "{\"role\":\"prefill\"}");
    assertThat(last.statusCode()).isEqualTo(409);
    assertThat(message(last)).contains("only live", "decode", "force");
    HttpResponse<String> same = admin("w1", "{\"role\":\"prefill\"}");
    assertThat(same.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(same.body()).path("done").asBoolean()).isTrue();
    assertThat(cluster.registry.find("w2").orElseThrow().cordoned()).isFalse();
    // refused flips did not go ahead behind the 409s
    assertThat(cluster.registry.find("w2").orElseThrow().descriptor().role())
        .isEqualTo(InstanceRole.DECODE);
    assertThat(cluster.registry.find("w0").orElseThrow().descriptor().role())
        .isEqualTo(InstanceRole.BOTH);
  }

  @Test
  void workersRefuseWorkTheirRoleDoesNotTakeAndFlipsOfColocatedWorkersOrBadRoles()
      throws Exception {
    HttpResponse<String> prefillOnDecode = worker("w2", "/internal/v1/prefill", "{\"id\":\"x\"}");
    assertThat(prefillOnDecode.statusCode()).isEqualTo(409);
    assertThat(message(prefillOnDecode)).contains("role is decode");
    for (String path : List.of("/internal/v1/reserve", "/internal/v1/resume")) {
      HttpResponse<String> r =
          worker("w1", path, "{\"id\":\"x\",\"tokens\":4,\"snapshot\":" + snapshot() + "}");
      assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(409);
      assertThat(message(r)).contains("role is prefill");
    }
    HttpResponse<String> colocated = worker("w0", "/internal/v1/role", "{\"role\":\"decode\"}");
    assertThat(colocated.statusCode()).isEqualTo(409);
    assertThat(message(colocated)).contains("colocated");
    assertThat(worker("w1", "/internal/v1/role", "{\"role\":\"both\"}").statusCode())
        .isEqualTo(400);
  }

  /** A snapshot the decode side would accept, to show the role check comes first. */
  private String snapshot() throws Exception {
    return JSON.writeValueAsString(
        JSON.createObjectNode().put("id", "x").putArray("prompt").add(1).add(2));
  }

  @Test
  void aFlipWaitsForRequestsThatCannotMoveAndTheOperatorApiFlipsBackEndToEnd() throws Exception {
    cluster.registry.cordon("w0", true); // the stream must go prefill → decode
    HttpResponse<java.io.InputStream> s =
        http.send(
            HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"sim\",\"prompt\":\"Once upon\",\"max_tokens\":100,"
                            + "\"ignore_eos\":true,\"stream\":true}"))
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertThat(s.statusCode()).isEqualTo(200);
    BufferedReader in = new BufferedReader(new InputStreamReader(s.body(), StandardCharsets.UTF_8));
    in.readLine();
    in.readLine();

    // The worker itself refuses while it holds the request, and says what it holds.
    HttpResponse<String> held = worker("w2", "/internal/v1/role", "{\"role\":\"prefill\"}");
    assertThat(held.statusCode()).isEqualTo(409);
    JsonNode counts = JSON.readTree(held.body()).path("error");
    // Running, or still reserved if its first decode step has not been taken yet.
    assertThat(counts.path("running").asInt() + counts.path("reserved").asInt()).isEqualTo(1);

    // Forced: the only decode instance; its request has nowhere to go, so it finishes there.
    var flip = cluster.flipper.flip("w2", InstanceRole.PREFILL, true);
    HttpResponse<String> again = admin("w2", "{\"role\":\"prefill\",\"force\":true}");
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(message(again)).contains("under way");
    int events = 0;
    boolean finished = false;
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.equals("data: [DONE]")) {
        finished = true;
      } else if (line.startsWith("data: ")) {
        assertThat(line).doesNotContain("\"error\"");
        events++;
      }
    }
    assertThat(finished).isTrue();
    assertThat(events).isGreaterThanOrEqualTo(99);
    FlipResult r = flip.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertThat(r.done()).as(r.detail()).isTrue();
    assertThat(r.detail()).contains("warning", "only live decode", "1 finished there");
    assertThat(cluster.registry.find("w2").orElseThrow().descriptor().role())
        .isEqualTo(InstanceRole.PREFILL);

    HttpResponse<String> back = admin("w2", "{\"role\":\"decode\"}");
    assertThat(back.statusCode()).as(back.body()).isEqualTo(200);
    JsonNode j = JSON.readTree(back.body());
    assertThat(j.path("done").asBoolean()).as(j.toString()).isTrue();
    assertThat(j.path("from").asText()).isEqualTo("prefill");
    assertThat(j.path("to").asText()).isEqualTo("decode");
    assertThat(j.path("millis").asLong()).isNotNegative();
    assertThat(cluster.registry.find("w2").orElseThrow().descriptor().role())
        .isEqualTo(InstanceRole.DECODE);
    assertThat(cluster.usedBlocks()).isZero();
  }
}
