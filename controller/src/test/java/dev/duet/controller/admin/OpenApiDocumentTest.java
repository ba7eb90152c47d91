package dev.duet.controller.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.InMemoryEventLog;
import dev.duet.controller.gateway.GatewayMetrics;
import dev.duet.controller.registry.InstanceRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** {@code openapi.json} describes exactly the routes the operator API serves, and is whole. */
class OpenApiDocumentTest {

  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch");

  private final JsonNode doc = AdminApi.loadOpenApi();

  private static AdminApi api() {
    InstanceRegistry registry = new InstanceRegistry(System::nanoTime);
    return new AdminApi(
        AdminToken.of("0123456789abcdef"),
        registry,
        InMemoryEventLog.withDefaults(),
        new GatewayMetrics(registry),
        System::nanoTime);
  }

  @Test
  void everyServedRouteIsDocumentedAndEveryDocumentedRouteIsServed() {
    Set<String> served = new TreeSet<>();
    for (AdminRoute r : api().routes()) {
      served.add(r.method().name() + " " + r.path());
    }
    Set<String> documented = new TreeSet<>();
    doc.path("paths")
        .properties()
        .forEach(
            p ->
                p.getValue()
                    .properties()
                    .forEach(
                        m -> {
                          if (METHODS.contains(m.getKey())) {
                            documented.add(m.getKey().toUpperCase(Locale.ROOT) + " " + p.getKey());
                          }
                        }));
    assertThat(documented).isEqualTo(served);
    assertThat(served).hasSize(14);
  }

  @Test
  void itIsOpenApi31WithBearerSecurityAndEveryReferenceResolves() {
    assertThat(doc.path("openapi").asText()).isEqualTo("3.1.0");
    assertThat(doc.at("/components/securitySchemes/bearer/scheme").asText()).isEqualTo("bearer");
    assertThat(doc.at("/security/0").has("bearer")).isTrue();
    List<String> refs = new ArrayList<>();
    collectRefs(doc, refs);
    assertThat(refs).isNotEmpty();
    for (String ref : refs) {
      assertThat(ref).startsWith("#/");
      assertThat(doc.at(ref.substring(1)).isMissingNode()).as(ref).isFalse();
    }
  }

  @Test
  void everyOperationDocumentsItsSuccessAndTheAuthFailures() {
    doc.path("paths")
        .properties()
        .forEach(
            p ->
                p.getValue()
                    .properties()
                    .forEach(
                        m -> {
                          JsonNode responses = m.getValue().path("responses");
                          String where = m.getKey() + " " + p.getKey();
                          assertThat(responses.has("401")).as(where).isTrue();
                          assertThat(responses.has("403")).as(where).isTrue();
                          assertThat(responses.has("200") || responses.has("202"))
                              .as(where)
                              .isTrue();
                          assertThat(m.getValue().path("operationId").asText())
                              .as(where)
                              .isNotEmpty();
                        }));
  }

  @Test
  void theEventKindsInTheSchemaAreTheOnesTheLogRecords() {
    Set<String> documented = new TreeSet<>();
    doc.at("/components/schemas/Event/properties/kind/enum")
        .forEach(k -> documented.add(k.asText()));
    Set<String> kinds = new TreeSet<>();
    for (EventKind k : EventKind.values()) {
      kinds.add(k.wireName());
    }
    assertThat(documented).isEqualTo(kinds);
  }

  @Test
  void theFeaturesAnswering501SayItInTheDocument() {
    for (AdminFeature f : AdminFeature.values()) {
      JsonNode op =
          doc.path("paths").path(f.path()).path(f.method().name().toLowerCase(Locale.ROOT));
      assertThat(op.at("/responses/501").isMissingNode()).as(f.toString()).isFalse();
    }
  }

  private static void collectRefs(JsonNode n, List<String> out) {
    if (n.isObject()) {
      n.properties()
          .forEach(
              e -> {
                if (e.getKey().equals("$ref")) {
                  out.add(e.getValue().asText());
                } else {
                  collectRefs(e.getValue(), out);
                }
              });
    } else if (n.isArray()) {
      n.forEach(c -> collectRefs(c, out));
    }
  }
}
