// The Duet controller's dashboard: asks for the operator token, then polls the operator API
// (/admin/v1: instances, history, cluster, events) every POLL_MS and redraws. Plain DOM, no
// innerHTML (every value from the API goes in as text).
import { lineChart, legend } from "/ui/charts.js";

const API = "/admin/v1";
const TOKEN_KEY = "duet.adminToken";
const POLL_MS = 2000;
const MAX_EVENTS = 50;

const $ = id => document.getElementById(id);

const state = {
  samples: [],        // history samples, oldest first
  capacity: 1800,     // samples the controller keeps (from /history)
  since: 0,           // next_since of the last /history answer
  eventsAfter: null,  // next of the last /events answer; null: not read yet
  events: [],         // newest last, at most MAX_EVENTS
  historyMissing: false,
  timer: null,
};

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function get(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  let resp;
  try {
    resp = await fetch(API + path, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
  } catch (e) {
    throw new HttpError(0, "the controller is unreachable (" + e.message + ")");
  }
  let body = null;
  try { body = await resp.json(); } catch (e) { /* not JSON: reported below */ }
  if (!resp.ok) {
    const msg = body && body.error ? body.error.message : "HTTP " + resp.status;
    throw new HttpError(resp.status, msg);
  }
  return body;
}

function setStatus(kind, text) {
  $("status").dataset.state = kind;
  $("status").textContent = text;
}

function banner(kind, text) {
  const b = $("banner");
  if (!kind) { b.hidden = true; b.textContent = ""; delete b.dataset.kind; return; }
  b.hidden = false;
  b.dataset.kind = kind;
  b.textContent = text;
}

function showLogin(message) {
  stop();
  $("login").hidden = false;
  $("dashboard").hidden = true;
  $("logout").hidden = true;
  if (message) banner("unauthorized", message);
  $("token").focus();
}

function start() {
  $("login").hidden = true;
  $("dashboard").hidden = false;
  $("logout").hidden = false;
  banner(null);
  setStatus("idle", "connecting…");
  poll();
}

function stop() {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
}

async function poll() {
  stop();
  if (!sessionStorage.getItem(TOKEN_KEY)) return; // signed out meanwhile
  try {
    const [instances, history, cluster] = await Promise.all([
      get("/instances"), historyPage(), get("/cluster")]);
    await readEvents(cluster.last_event_id);
    render(instances.data, cluster);
    setStatus("ok", "connected");
    $("updated").textContent = "updated " + new Date().toLocaleTimeString([], { hour12: false });
    if (history === null) {
      banner("info", "This controller keeps no history: the charts stay empty.");
    } else {
      banner(null);
    }
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      setStatus("unauthorized", "unauthorized");
      showLogin("Unauthorized: " + e.message + ". Enter the operator token again.");
      return;
    }
    if (e.status === 0) {
      setStatus("unreachable", "controller unreachable");
      banner("unreachable", "Controller unreachable: " + e.message + ". Retrying every "
        + POLL_MS / 1000 + " s; the figures below are from the last answer.");
    } else {
      setStatus("error", "error");
      banner("error", "The operator API answered " + e.status + ": " + e.message);
    }
  }
  if (sessionStorage.getItem(TOKEN_KEY)) state.timer = setTimeout(poll, POLL_MS);
}

/** New history samples since the last poll; null when the controller has no history (501). */
async function historyPage() {
  try {
    const h = await get("/history?since=" + state.since);
    state.capacity = h.capacity;
    state.since = h.next_since;
    state.samples.push(...h.data);
    if (state.samples.length > state.capacity) state.samples.splice(0, state.samples.length - state.capacity);
    return h;
  } catch (e) {
    if (e.status === 501) return null;
    throw e;
  }
}

async function readEvents(lastId) {
  if (state.eventsAfter === null) state.eventsAfter = Math.max(0, lastId - MAX_EVENTS);
  for (let i = 0; i < 5; i++) {
    const page = await get("/events?limit=" + MAX_EVENTS + "&after=" + state.eventsAfter);
    state.events.push(...page.data);
    state.eventsAfter = page.next;
    if (!page.has_more) break;
  }
  if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
}

function render(instances, cluster) {
  renderSummary(instances, cluster);
  renderInstances(instances);
  renderCharts();
  renderEvents();
}

function renderSummary(instances, cluster) {
  const byRole = cluster.instances.by_role;
  const live = r => byRole[r].alive + byRole[r].cordoned;
  const p = live("prefill"), d = live("decode"), b = live("both");
  $("s-instances").textContent = String(cluster.instances.total);
  $("s-roles").textContent = `${p} P · ${d} D · ${b} both live`;
  $("s-ratio").textContent = d > 0 ? (p / d).toFixed(2) : (p > 0 ? "P only" : "–");
  $("s-running").textContent = String(cluster.totals.running);
  $("s-queued").textContent = String(cluster.totals.queued);
  const kv = cluster.totals.kv_blocks;
  $("s-kv").textContent = kv > 0
    ? `${Math.round(100 * cluster.totals.free_kv_blocks / kv)} %` : "–";
  $("s-arrivals").textContent = cluster.rates.arrivals_per_s.toFixed(1);
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

function renderInstances(list) {
  const body = $("instances").tBodies[0];
  while (body.firstChild) body.removeChild(body.firstChild);
  for (const i of list) {
    const tr = document.createElement("tr");
    tr.dataset.id = i.id;
    cell(tr, i.id, "id");
    cell(tr, i.role, "role role-" + i.role);
    cell(tr, i.group, "group");
    cell(tr, i.state, "state state-" + i.state);
    cell(tr, String(i.load.running), "num running");
    cell(tr, String(i.load.queued), "num queued");
    cell(tr, `${i.load.free_kv_blocks} / ${i.capacity.kv_blocks}`, "num kv");
    cell(tr, (i.last_heartbeat_age_ms / 1000).toFixed(1) + " s", "num age");
    body.appendChild(tr);
  }
  $("no-instances").hidden = list.length > 0;
  $("instances").hidden = list.length === 0;
}

function series(name, cls, pick) {
  return { name, cls, points: state.samples.map(s => [s.time_ms, pick(s)]) };
}

function renderCharts() {
  const s = state.samples;
  const last = s.length ? s[s.length - 1] : null;

  const ratio = series("prefill per decode", "c-ratio", x => x.pd_ratio);
  lineChart($("chart-ratio"), { series: [ratio],
    empty: !last ? "no samples yet"
      : last.instances.both > 0 && last.instances.prefill + last.instances.decode === 0
        ? "colocated instances only (role both): no P:D ratio"
        : "no decode instance: no P:D ratio" });
  legend($("legend-ratio"), [ratio], last ? [
    `now ${last.instances.prefill} P · ${last.instances.decode} D · ${last.instances.both} both`] : []);

  const arrivals = series("arrivals", "c-arrivals", x => x.arrivals_per_s);
  const forecast = series("forecast", "c-forecast", x => x.forecast_arrivals_per_s);
  const hasForecast = s.some(x => x.forecast_arrivals_per_s !== null);
  lineChart($("chart-arrivals"), { series: hasForecast ? [arrivals, forecast] : [arrivals],
    empty: "no samples yet" });
  legend($("legend-arrivals"), hasForecast ? [arrivals, forecast] : [arrivals],
    hasForecast ? [] : ["no forecast yet"]);

  for (const [key, field, sloField] of [["ttft", "ttft_ms", "ttft_ms"], ["tpot", "tpot_ms", "tpot_ms"]]) {
    const p50 = series("p50", "c-p50", x => x[field].p50);
    const p99 = series("p99", "c-p99", x => x[field].p99);
    const slo = last ? last.slo[sloField] : null;
    // p99 first, so where both are equal (one request in the interval) the median shows.
    lineChart($("chart-" + key), { series: [p99, p50],
      refs: slo !== null ? [{ value: slo, label: "SLO " + slo + " ms" }] : [],
      empty: "no request finished yet" });
    legend($("legend-" + key), [p50, p99, { name: "SLO", cls: "c-slo" }]);
  }

  const running = series("running", "c-running", x => x.load.running);
  const queued = series("queued", "c-queued", x => x.load.queued);
  lineChart($("chart-load"), { series: [running, queued], empty: "no samples yet" });
  legend($("legend-load"), [running, queued]);
}

function renderEvents() {
  const list = $("events");
  while (list.firstChild) list.removeChild(list.firstChild);
  for (const e of state.events.slice().reverse()) {
    const li = document.createElement("li");
    li.dataset.kind = e.kind;
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = new Date(e.time).toLocaleTimeString([], { hour12: false });
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = e.kind;
    li.append(time, kind, [e.instance, e.request, e.detail].filter(Boolean).join(" · "));
    list.appendChild(li);
  }
  $("no-events").hidden = state.events.length > 0;
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    start();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setStatus("idle", "not connected");
    banner(null);
    showLogin();
  });
  if (sessionStorage.getItem(TOKEN_KEY)) start(); else showLogin();
});
