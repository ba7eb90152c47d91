package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code duet bench kv} end to end at a tiny size: a receiver process, both transports, JSON. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvBenchCommandIT {

  @Test
  void benchKvPrintsBaselinesAndEveryCaseAsJson() throws Exception {
    StringWriter out = new StringWriter();
    var cl = DuetCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    int exit =
        cl.execute(
            "bench",
            "kv",
            "--tokens",
            "16,32",
            "--transport",
            "tcp,shm",
            "--repeats",
            "1",
            "--json");
    assertThat(exit).isZero();
    JsonNode root = new ObjectMapper().readTree(out.toString());
    assertThat(root.get("memcpy_gbps").asDouble()).isPositive();
    assertThat(root.get("socket_gbps").asDouble()).isPositive();
    assertThat(root.get("socket_region_gbps").asDouble()).isPositive();
    assertThat(root.get("cases")).hasSize(8);
    JsonNode first = root.get("cases").get(0);
    assertThat(first.get("transport").asText()).isEqualTo("tcp");
    assertThat(first.get("tokens").asInt()).isEqualTo(16);
    assertThat(first.get("mode").asText()).isEqualTo("whole");
    assertThat(first.get("gbps").asDouble()).isPositive();
    assertThat(first.get("ms").asDouble()).isPositive();
    assertThat(root.get("cases").get(7).get("transport").asText()).isEqualTo("shm");
    assertThat(root.get("cases").get(7).get("mode").asText()).isEqualTo("layerwise");
  }

  @Test
  void anUnknownTransportIsRefusedByName() {
    StringWriter err = new StringWriter();
    var cl = DuetCommand.commandLine();
    cl.setErr(new PrintWriter(err, true));
    assertThat(cl.execute("bench", "kv", "--transport", "rdma")).isEqualTo(1);
    assertThat(err.toString()).contains("unknown transport 'rdma'");
  }
}
