// One cluster's own page at GET /clusters/<distinct_id>: its latest values,
// and its history by receive time when the store keeps events: numbers as
// time series, booleans as spans of true and false (state changes, not
// lines), strings (versions, inference servers, commit) as a change log.
// Pure: renders what it is given.

import { CATALOGUE } from "../../metrics/catalogue.ts";
import {
  formatTime,
  stateStrip,
  type TimePoint,
  timeSeriesChart,
} from "./charts.ts";
import type { SnapshotValue } from "../event/mod.ts";
import { type Html, markup } from "./html.ts";
import {
  document,
  formatValue,
  iso,
  keptSentence,
  type PageAnswer,
  type PageContext,
  problemPage,
  when,
} from "./page.ts";
import type { ClusterSnapshot, HistoryPoint } from "../store/mod.ts";
import { SECOND_MS } from "../../runtime/units.ts";

/** Events of a cluster read for its page at most (about 333 days at 3 a day). */
const CLUSTER_HISTORY = 1000;

/** What a cluster's page is rendered from. */
export interface ClusterPageInput extends PageContext {
  /** What follows /clusters/ in the request's path, as sent (percent-encoded). */
  rawId: string;
  /** The cluster's most recent events, oldest first; empty when none are kept. */
  history: (distinctId: string, max: number) => HistoryPoint[];
}

/** What a metric's values count, for the y axis. */
export const UNITS: Readonly<Record<string, string>> = {
  node_count: "nodes",
  model_count: "models",
  pipeline_count: "pipelines",
  experiment_count: "experiments",
  server_count: "servers",
  server_replica_count: "replicas",
  multimodel_enabled_count: "replica resources",
  overcommit_enabled_count: "replica resources",
  gpu_enabled_count: "servers",
  server_cpu_cores_sum: "cores",
  server_memory_gb_sum: "GB",
};

/** A string metric's change, for the change log. */
export interface Change {
  /** When the event bringing the new value was received. */
  at: number;
  /** The metric's name. */
  metric: string;
  /** The value before; undefined for the first one seen. */
  from: string | undefined;
  /** The value from then on. */
  to: string;
}

/** The catalogue's metrics over a cluster's events, by how the page shows them. */
export interface MetricSeries {
  /** Integer and float metrics: a time series each. */
  numbers: Array<{ metric: string; whole: boolean; points: TimePoint[] }>;
  /** Boolean metrics: spans of true and false. */
  states: Array<{ metric: string; points: Array<[number, boolean]> }>;
  /** String metrics: each change of value. */
  changes: Change[];
  /** Metrics none of the events reported. */
  missing: string[];
}

/** Each catalogue metric (but the ids) of `points`, sorted by how it is shown. */
export function metricSeries(points: readonly HistoryPoint[]): MetricSeries {
  const out: MetricSeries = {
    numbers: [],
    states: [],
    changes: [],
    missing: [],
  };
  for (const m of CATALOGUE) {
    if (m.type === "uuid") continue;
    const series = points.flatMap((p): Array<[number, SnapshotValue]> => {
      const v = p.values.get(m.name);
      return v === undefined ? [] : [[p.receivedAtMs, v]];
    });
    if (series.length === 0) out.missing.push(m.name);
    else if (m.type === "integer" || m.type === "float") {
      const whole = m.type === "integer";
      out.numbers.push({
        metric: m.name,
        whole,
        points: series as TimePoint[],
      });
    } else if (m.type === "boolean") {
      const points = series as Array<[number, boolean]>;
      out.states.push({ metric: m.name, points });
    } else {out.changes.push(
        ...changesOf(m.name, series as Array<[number, string]>),
      );}
  }
  return out;
}

/** The values of a string metric where they differ from the one before. */
function changesOf(
  metric: string,
  series: ReadonlyArray<readonly [number, string]>,
): Change[] {
  const out: Change[] = [];
  let previous: string | undefined;
  for (const [at, v] of series) {
    if (v === previous) continue;
    out.push({ at, metric, from: previous, to: v });
    previous = v;
  }
  return out;
}

/** The cluster as the page shows it: its id, latest event and history. */
interface Shown {
  id: string;
  snapshot: ClusterSnapshot | undefined;
  history: HistoryPoint[];
  latest: HistoryPoint;
}

/** The cluster `rawId` names, or the problem page that says why there is none. */
function clusterOf(input: ClusterPageInput): Shown | PageAnswer {
  let id: string;
  try {
    id = decodeURIComponent(input.rawId);
  } catch {
    return problemPage(400, "hodometer receiver: not a cluster address", [
      "the cluster id in the address is not valid percent-encoding (UTF-8)",
    ]);
  }
  const snapshot = input.clusters.get(id);
  const history = input.keptIn === null
    ? []
    : input.history(id, CLUSTER_HISTORY);
  const latest: HistoryPoint | undefined = snapshot
    ? { receivedAtMs: snapshot.lastSeenMs, values: snapshot.values }
    : history.at(-1);
  if (latest === undefined) {
    return problemPage(404, "hodometer receiver: no such cluster", [
      `no cluster with distinct_id ${
        JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id)
      } is known to this receiver: it never reported, or it was forgotten (retention, or MAX_CLUSTERS)`,
    ]);
  }
  return { id, snapshot, history, latest };
}

/** When it was last seen, the sender's time, and the string metrics of the latest event. */
function facts(c: Shown, now: number): Html {
  const time = c.snapshot?.eventTime;
  const strings = CATALOGUE.filter((m) => m.type === "string").map((m) => {
    const v = c.latest.values.get(m.name);
    return markup`<dt>${m.name}</dt><dd data-field="${m.name}">${
      typeof v === "string" && v !== ""
        ? v
        : markup`<span class="note">not reported</span>`
    }</dd>`;
  });
  return markup`<dt>Last seen</dt><dd data-field="last_seen">${
    when(c.latest.receivedAtMs, now)
  } (${formatTime(c.latest.receivedAtMs)})</dd>${
    time != null
      ? markup`<dt>Sender's time</dt><dd data-field="event_time">${
        iso(time * SECOND_MS)
      }</dd>`
      : ""
  }${strings}`;
}

/** Where the history comes from: how many events, from when to when, or why there is none. */
function historySource(c: Shown, input: ClusterPageInput): Html {
  const [oldest, newest] = [c.history[0], c.history.at(-1)];
  if (oldest !== undefined && newest !== undefined) {
    return markup`<p id="history-source">${c.history.length} event(s) received from ${
      formatTime(oldest.receivedAtMs)
    } to ${formatTime(newest.receivedAtMs)}${
      c.history.length === CLUSTER_HISTORY
        ? ` (the last ${CLUSTER_HISTORY}; older ones are in /events)`
        : ""
    }, placed by receive time.</p>`;
  }
  return markup`<p id="history-source" class="note">${
    input.keptIn === null
      ? `At record level ${input.recordLevel} this receiver keeps no events: what follows is the latest event alone. RECORD_LEVEL=all keeps the history.`
      : "No event of this cluster is kept any more: what follows is its latest event alone."
  }</p>`;
}

/** A card per number metric (a time series) and per boolean one (spans), until `until`. */
function charts(series: MetricSeries, until: number): [Html[], Html[]] {
  const card = (metric: string, chart: Html) =>
    markup`<div class="card" data-metric="${metric}"><h3>${metric}</h3>${chart}</div>`;
  return [
    series.numbers.map((n) =>
      card(
        n.metric,
        timeSeriesChart({
          title: n.metric,
          unit: UNITS[n.metric] ?? "",
          points: n.points,
          whole: n.whole,
        }),
      )
    ),
    series.states.map((s) =>
      card(s.metric, stateStrip({ title: s.metric, points: s.points, until }))
    ),
  ];
}

/** The string metrics' changes, newest first. */
export function changeLog(changes: readonly Change[]): Html {
  if (changes.length === 0) {
    return markup`<p class="note">No string metric reported.</p>`;
  }
  const rows = changes.toSorted((a, b) => b.at - a.at).map((c) =>
    markup`<tr data-metric="${c.metric}"><td data-label="received"><time datetime="${
      iso(c.at)
    }">${
      formatTime(c.at)
    }</time></td><td data-label="metric">${c.metric}</td><td data-label="value">${
      c.from === undefined
        ? markup`${c.to} <span class="note">(first seen)</span>`
        : markup`${c.from} → ${c.to}`
    }</td></tr>`
  );
  return markup`<table class="list" id="changes"><thead><tr><th>received</th><th>metric</th><th>value</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Each metric's latest value, and those not reported. */
function latestValues(latest: HistoryPoint, missing: readonly string[]): Html {
  const rows = CATALOGUE.filter((m) => latest.values.has(m.name)).map((m) =>
    markup`<tr data-metric="${m.name}"><td data-label="metric">${m.name}</td><td class="n" data-label="latest">${
      formatValue(latest.values.get(m.name)!)
    }</td></tr>`
  );
  return markup`<table id="latest"><thead><tr><th>metric</th><th class="n">latest</th></tr></thead><tbody>${rows}</tbody></table>${
    missing.length > 0
      ? markup`<p class="note">Not reported: ${missing.join(", ")}.</p>`
      : ""
  }`;
}

/** A cluster's page: its latest values and its history. */
export function renderClusterPage(input: ClusterPageInput): PageAnswer {
  const c = clusterOf(input);
  if ("status" in c) return c;
  // Without kept events, the latest event is the whole history.
  const series = metricSeries(c.history.length > 0 ? c.history : [c.latest]);
  const until = Math.max(input.now, c.latest.receivedAtMs);
  const [numbers, states] = charts(series, until);
  const body = markup`<p><a href="/">← the fleet</a></p>
<h1>Cluster <code id="cluster-id">${c.id}</code></h1>
<p class="lead">${keptSentence(input)}</p>
<div class="card"><dl>${facts(c, input.now)}</dl></div>
<h2>History</h2>
${historySource(c, input)}
<div class="grid">${numbers}</div>
<h2>States</h2>
<div class="grid">${
    states.length > 0
      ? states
      : markup`<p class="note">No boolean metric reported.</p>`
  }</div>
<h2>Changes</h2>
<div class="card">${changeLog(series.changes)}</div>
<h2>Latest values</h2>
<div class="card">${latestValues(c.latest, series.missing)}</div>`;
  return {
    status: 200,
    html: document(`hodometer receiver: cluster ${c.id.slice(0, 40)}`, body),
  };
}
