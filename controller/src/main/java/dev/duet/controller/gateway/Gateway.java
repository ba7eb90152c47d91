package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import dev.duet.controller.openai.OpenAiRequest;
import dev.duet.controller.openai.OpenAiRequest.Kind;
import dev.duet.controller.openai.OpenAiRequestParser;
import dev.duet.controller.openai.OpenAiResponses;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.policy.ScenarioClassifier;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.routing.GroupScope;
import dev.duet.controller.routing.RoutePlan;
import dev.duet.controller.routing.Router;
import dev.duet.engine.sampling.SamplingParams;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible endpoints: validates and tokenizes a request, routes it, forwards it to a
 * worker and relays the worker's token stream as one JSON answer or as server-sent events.
 *
 * <p>Routing is on-demand forwarding: the request is offered to the planned instances in order; an
 * instance that refuses at once (429: its queue is full) is skipped for the next; when all refuse,
 * the client gets a 503 with {@code Retry-After} and the {@link EventLog} a {@link
 * EventKind#REJECTION}. A client that hangs up resets the upstream request, which makes the worker
 * cancel it and free its KV blocks. A request for which no instance has the KV room (its group has
 * instances, all full) waits for room in its group's FIFO queue ({@link RoomWait}) for at most the
 * TTFT budget (the policy's {@code admission.ttftBudgetMs} when the controller wires it, {@link
 * #ttftBudgetBy}), and the instances are asked to meet what is left of the budget.
 *
 * <p><b>Scenario groups</b> ({@link ScenarioRouting}). Each request is put in its scenario group
 * once, on arrival, by the current policy's {@link ScenarioClassifier} (by model, header or prompt
 * length), and routed only to instances of that group ({@link GroupScope}); migration and recovery
 * keep it there too. When the group has no routable instance for a role, the default group's
 * instances serve that role and the fallback is counted ({@code
 * duet_group_fallbacks_total{group}}): a group whose bounds allow zero instances must still be
 * servable while the planner scales it up. Until {@link #classifyBy} is called every request is in
 * the default group. The {@link RequestListener} hears the group, so the planner's tracker counts
 * the request where it was routed without classifying it again.
 *
 * <p>A decode instance of role {@code decode} takes the split route ({@link SplitRoute}: prefill on
 * a prefill instance, then the handoff over kv-transfer); one of role {@code both} serves the
 * request alone.
 *
 * <p>Threading: runs on the controller's event loop.
 */
public final class Gateway {

  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ServedModel model;
  private final InstanceRegistry registry;
  private final Router router;
  private final OpenAiResponses responses;
  private final HttpClient client;
  private final RandomGenerator seeds;
  private final GatewayMetrics metrics;
  private volatile java.util.function.Supplier<Duration> ttftBudget;
  private final SplitRoute split;
  private final EventLog events;
  private final InFlight inFlight = new InFlight();
  private final Recovery recovery;
  private final Migrator migrator;
  private final RoomWait waiting = new RoomWait(System::nanoTime);

  /** Puts requests in scenario groups and routes them among their group's instances. */
  private final ScenarioRouting scenarios;

  /** A gateway with the default migration options. */
  public Gateway(
      ServedModel model,
      InstanceRegistry registry,
      Router router,
      OpenAiResponses responses,
      HttpClient client,
      RandomGenerator seeds,
      GatewayMetrics metrics,
      Duration ttftBudget,
      EventLog events) {
    this(
        model,
        registry,
        router,
        responses,
        client,
        seeds,
        metrics,
        ttftBudget,
        events,
        Migrator.Options.defaults());
  }

  /**
   * @param ttftBudget the time to first token each instance is asked to meet: one that cannot start
   *     the prompt in time refuses it (zero: no budget)
   * @param events where rejected requests (503) are recorded
   */
  public Gateway(
      ServedModel model,
      InstanceRegistry registry,
      Router router,
      OpenAiResponses responses,
      HttpClient client,
      RandomGenerator seeds,
      GatewayMetrics metrics,
      Duration ttftBudget,
      EventLog events,
      Migrator.Options migration) {
    this.metrics = metrics;
    this.ttftBudget = () -> ttftBudget;
    this.events = events;
    this.scenarios = new ScenarioRouting(metrics);
    WorkerClient workers = new WorkerClient(client);
    this.recovery = new Recovery(registry, workers, metrics, events, this::groups);
    this.migrator =
        new Migrator(
            inFlight,
            registry,
            workers,
            metrics,
            migration,
            events,
            this::groups,
            scenarios::batchCapTpotMs);
    metrics.gaugeWaitingForRoom(waiting::size);
    this.split = new SplitRoute(workers, responses, metrics, registry, events, this::track);
    this.model = model;
    this.registry = registry;
    this.router = router;
    this.responses = responses;
    this.client = client;
    this.seeds = seeds;
  }

  /**
   * The HTTP client the gateway talks to workers with: one upstream connection per in-flight
   * request (each streams for the request's life), so a small per-host pool would queue requests
   * inside the controller behind running streams.
   */
  public static HttpClient upstreamClient(io.vertx.core.Vertx vertx) {
    return vertx.createHttpClient(
        new io.vertx.core.http.HttpClientOptions().setKeepAlive(true),
        new io.vertx.core.http.PoolOptions().setHttp1MaxSize(4096));
  }

  public GatewayMetrics metrics() {
    return metrics;
  }

  /** The requests being served. */
  public InFlight inFlight() {
    return inFlight;
  }

  /**
   * Classifies requests into scenario groups by the current policy of {@code policies} from now on
   * (a reload applies to the next request).
   */
  public void classifyBy(PolicyStore policies) {
    scenarios.classifyBy(policies);
  }

  /** Which instances serve which group, under the current policy. */
  public GroupScope groups() {
    return scenarios.groups();
  }

  /** Live migration of the requests being served. */
  public Migrator migrator() {
    return migrator;
  }

  /** Starts tracking a request whose answer streams: it can now be migrated and recovered. */
  private void track(RequestSession s) {
    inFlight.add(s);
    recovery.arm(s);
  }

  /** {@code GET /v1/models}. */
  public void models(HttpServerRequest req) {
    ObjectNode root = JSON.createObjectNode();
    root.put("object", "list");
    ObjectNode m = root.putArray("data").addObject();
    m.put("id", model.name());
    m.put("object", "model");
    m.put("created", 0);
    m.put("owned_by", "duet");
    m.put("max_model_len", model.contextLength());
    req.response().putHeader("content-type", "application/json").end(root.toString());
  }

  /** {@code POST /v1/completions} and {@code POST /v1/chat/completions}. */
  public void complete(HttpServerRequest req, Kind kind, Buffer body) {
    HttpServerResponse resp = req.response();
    long start = System.nanoTime();
    metrics.arrived();
    resp.endHandler(v -> metrics.departed());
    OpenAiRequest r;
    int[] prompt;
    SamplingParams params;
    try {
      r = OpenAiRequestParser.parse(kind, body.getBytes());
      if (!r.model().equals(model.name())) {
        throw new ApiException(
            ApiError.notFound(
                "model",
                "model '" + r.model() + "' is not served here; try '" + model.name() + "'"));
      }
      prompt = model.promptIds(r);
      params = r.samplingParams(prompt.length, model.contextLength(), seeds.nextLong());
    } catch (ApiException e) {
      LOG.info("{} {}: {} {}", req.method(), req.path(), e.error().status(), e.getMessage());
      metrics.outcome(String.valueOf(e.error().status()));
      error(resp, e.error());
      return;
    }
    java.util.Map<String, String> headers = new java.util.HashMap<>();
    req.headers().forEach(h -> headers.putIfAbsent(h.getKey(), h.getValue()));
    String group = scenarios.classify(r.model(), headers, prompt.length);
    String id = responses.newId(kind);
    RequestListener listener = metrics.listener();
    listener.arrived(id, group, prompt.length, params.maxTokens());
    resp.endHandler(
        v -> {
          metrics.departed();
          listener.ended(id);
        });
    java.util.Optional<RoutePlan> plan =
        scenarios.route(router, registry.alive(), group, prompt.length, params.maxTokens(), true);
    if (waiting.waiting(group)) {
      plan = java.util.Optional.empty(); // others of its group wait for room first
    }
    Duration budget = ttftBudget.get();
    if (plan.isPresent() || budget.isZero() || !scenarios.servable(registry.alive(), group)) {
      dispatch(req, r, id, group, prompt, params, plan, start, budget);
      return;
    }
    // no room now: wait for it (FIFO in the group) for at most the TTFT budget
    metrics.waitedForRoom();
    waitForRoom(req, r, id, group, prompt, params, start, budget, false);
  }

  /**
   * Queues a request in its group's {@link RoomWait} until an instance has room or its TTFT budget
   * (from {@code start}) runs out, when it gets a 503; {@code first}: at the head of the queue (a
   * request routed once already and refused), else at the end.
   */
  private void waitForRoom(
      HttpServerRequest req,
      OpenAiRequest r,
      String id,
      String group,
      int[] prompt,
      SamplingParams params,
      long start,
      Duration budget,
      boolean first) {
    long waitFrom = System.nanoTime();
    RoomWait.Waiter w =
        new RoomWait.Waiter(
            start + budget.toNanos(),
            () ->
                scenarios.route(
                    router, registry.alive(), group, prompt.length, params.maxTokens(), false),
            p -> {
              metrics.listener().waitedForRoom(id, System.nanoTime() - waitFrom);
              dispatch(req, r, id, group, prompt, params, java.util.Optional.of(p), start, budget);
            },
            () -> {
              String why =
                  "no instance had the KV room for the request's "
                      + (prompt.length + params.maxTokens())
                      + " tokens within its TTFT budget of "
                      + budget.toMillis()
                      + (scenarios.batchCapTpotMs(group) > 0
                          ? " ms (none alive, uncordoned, with room and running fewer streams than"
                              + " its TPOT SLO allows)"
                          : " ms (none alive, uncordoned and with room)");
              LOG.info("request {}: 503: {}", id, why);
              reject(req.response(), id, why);
            },
            req.response()::closed);
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.currentContext().owner();
    if (first) {
      waiting.addFirst(vertx, group, w);
    } else {
      waiting.add(vertx, group, w);
    }
  }

  /**
   * Takes the TTFT budget from {@code budget} from now on, read once per request (the controller
   * passes the current policy's {@code admission.ttftBudgetMs}, so a reload applies to the next
   * request); zero: no budget.
   */
  public void ttftBudgetBy(java.util.function.Supplier<Duration> budget) {
    this.ttftBudget = java.util.Objects.requireNonNull(budget, "budget");
  }

  /**
   * Sends a request on its route, or rejects it when it has none; the TTFT budget the instances are
   * asked to meet is what is left of {@code budget} after the request's wait for room (zero: none).
   */
  private void dispatch(
      HttpServerRequest req,
      OpenAiRequest r,
      String id,
      String group,
      int[] prompt,
      SamplingParams params,
      java.util.Optional<RoutePlan> plan,
      long start,
      Duration budget) {
    ObjectNode upstream = JSON.createObjectNode().put("id", id);
    upstream.put(
        "ttft_budget_ms",
        budget.isZero() ? 0 : Math.max(1, (budget.toNanos() - (System.nanoTime() - start)) / 1e6));
    upstream.set("prompt_ids", JSON.valueToTree(prompt));
    ObjectNode p = upstream.putObject("params");
    p.put("temperature", params.temperature());
    p.put("top_k", params.topK());
    p.put("top_p", params.topP());
    p.put("seed", params.seed());
    p.put("max_tokens", params.maxTokens());
    p.set("stop", JSON.valueToTree(params.stop()));
    p.put("ignore_eos", params.ignoreEos());
    if (plan.isPresent() && plan.get().decode().descriptor().role() == InstanceRole.DECODE) {
      List<InstanceView> prefills =
          plan.get().prefillOrder().stream()
              .filter(i -> i.descriptor().role() == InstanceRole.PREFILL)
              .toList();
      // A decode instance that refuses the reservation (its last report was stale) sends the
      // request back to wait for room, at the head of its group's queue, for what is left of its
      // budget; with no budget there is nothing to wait within, and the refusal is a 503.
      Runnable noRoom =
          budget.isZero()
              ? null
              : () -> {
                metrics.waitedForRoom();
                waitForRoom(req, r, id, group, prompt, params, start, budget, true);
              };
      split.run(
          req,
          r,
          id,
          group,
          upstream,
          prompt,
          params,
          plan.get().decode(),
          prefills,
          start,
          noRoom);
      return;
    }
    // Colocated: instances of role both, in the router's order.
    List<InstanceView> order =
        plan.map(RoutePlan::prefillOrder).orElse(List.of()).stream()
            .filter(i -> i.descriptor().role() == InstanceRole.BOTH)
            .toList();
    Session session = new Session(r, id, group, upstream, prompt, params);
    offer(req, session, order, 0, start);
  }

  /** Answers 503 (with Retry-After), counts it and records the rejection. */
  private void reject(HttpServerResponse resp, String id, String why) {
    metrics.rejected();
    metrics.outcome("503");
    events.record(EventKind.REJECTION, null, id, why);
    resp.putHeader("retry-after", "1");
    error(resp, ApiError.overloaded(why));
  }

  /** What the colocated path carries from one offer to the next. */
  private record Session(
      OpenAiRequest r,
      String id,
      String group,
      ObjectNode upstream,
      int[] prompt,
      SamplingParams params) {}

  private void offer(
      HttpServerRequest req, Session session, List<InstanceView> order, int next, long start) {
    HttpServerResponse resp = req.response();
    OpenAiRequest r = session.r();
    String id = session.id();
    int promptTokens = session.prompt().length;
    int maxTokens = session.params().maxTokens();
    Buffer upstream = Buffer.buffer(session.upstream().toString());
    if (next >= order.size()) {
      String why =
          order.isEmpty()
              ? "no instance can take the request now (none alive, uncordoned and with room)"
              : "every instance refused the request (" + order.size() + " tried)";
      reject(resp, id, why);
      return;
    }
    InstanceView target = order.get(next);
    registry.noteRouted(
        target.id(), promptTokens, target.descriptor().blocksFor(promptTokens + maxTokens));
    URI uri = URI.create(target.descriptor().endpoint());
    RequestOptions opts =
        new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setHost(uri.getHost())
            .setPort(uri.getPort())
            .setURI("/internal/v1/generate")
            .putHeader("content-type", "application/json");
    long[] routing = {0}; // nanos from arrival to the upstream send
    client
        .request(opts)
        .compose(
            creq -> {
              routing[0] = System.nanoTime() - start;
              resp.closeHandler(
                  v -> {
                    if (!resp.ended()) {
                      LOG.info("request {}: the client went away; cancelling upstream", id);
                      creq.reset();
                    }
                  });
              return creq.send(upstream);
            })
        .onSuccess(
            cresp -> {
              if (cresp.statusCode() == 429) {
                cresp.body().onComplete(x -> offer(req, session, order, next + 1, start));
              } else if (cresp.statusCode() != 200) {
                cresp
                    .body()
                    .onComplete(
                        b ->
                            error(
                                resp,
                                ApiError.upstream(
                                    "instance "
                                        + target.id()
                                        + " answered "
                                        + cresp.statusCode()
                                        + ": "
                                        + (b.succeeded() ? b.result().toString() : ""))));
              } else {
                ClientStream stream =
                    new ClientStream(resp, r, id, start, routing[0], responses, metrics);
                stream.attach(cresp, target.id());
                track(
                    new RequestSession(
                        id,
                        session.group(),
                        session.prompt(),
                        session.params(),
                        promptTokens + maxTokens,
                        session.upstream(),
                        stream));
              }
            })
        .onFailure(
            e -> {
              LOG.warn("request {}: instance {} failed: {}", id, target.id(), e.toString());
              offer(req, session, order, next + 1, start);
            });
  }

  /** Sends an OpenAI-style error (unless the response is already streaming). */
  public static void error(HttpServerResponse resp, ApiError e) {
    if (resp.ended()) {
      return;
    }
    if (resp.headWritten()) {
      resp.end();
      return;
    }
    resp.setStatusCode(e.status())
        .putHeader("content-type", "application/json")
        .end(e.toJson().toString());
  }
}
