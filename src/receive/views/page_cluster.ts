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
import {
  document,
  escapeHtml as esc,
  formatValue,
  iso,
  keptSentence,
  type PageAnswer,
  type PageContext,
  problemPage,
  when,
} from "./page.ts";
import type { HistoryPoint } from "../store/mod.ts";

/** Events of a cluster read for its page at most (about 333 days at 3 a day). */
export const CLUSTER_HISTORY = 1000;

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

interface Change {
  at: number;
  metric: string;
  from: string | undefined;
  to: string;
}

export function renderClusterPage(input: ClusterPageInput): PageAnswer {
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
  // Without kept events, the latest event is the whole history.
  const points = history.length > 0 ? history : [latest];

  const facts = [
    `<dt>Last seen</dt><dd data-field="last_seen">${
      when(latest.receivedAtMs, input.now)
    } (${formatTime(latest.receivedAtMs)})</dd>`,
    snapshot?.eventTime != null
      ? `<dt>Sender's time</dt><dd data-field="event_time">${
        esc(iso(snapshot.eventTime * 1000))
      }</dd>`
      : "",
    ...CATALOGUE.filter((m) => m.type === "string").map((m) => {
      const v = latest.values.get(m.name);
      return `<dt>${esc(m.name)}</dt><dd data-field="${m.name}">${
        typeof v === "string" && v !== ""
          ? esc(v)
          : '<span class="note">not reported</span>'
      }</dd>`;
    }),
  ].join("");

  const [oldest, newest] = [history[0], history.at(-1)];
  const about = oldest !== undefined && newest !== undefined
    ? `<p id="history-source">${history.length} event(s) received from ${
      formatTime(oldest.receivedAtMs)
    } to ${formatTime(newest.receivedAtMs)}${
      history.length === CLUSTER_HISTORY
        ? ` (the last ${CLUSTER_HISTORY}; older ones are in /events)`
        : ""
    }, placed by receive time.</p>`
    : `<p id="history-source" class="note">${
      input.keptIn === null
        ? `At record level ${
          esc(input.recordLevel)
        } this receiver keeps no events: what follows is the latest event alone. RECORD_LEVEL=all keeps the history.`
        : "No event of this cluster is kept any more: what follows is its latest event alone."
    }</p>`;

  const numbers: string[] = [];
  const states: string[] = [];
  const changes: Change[] = [];
  const missing: string[] = [];
  for (const m of CATALOGUE) {
    if (m.type === "uuid") continue;
    const series = points.flatMap((p): Array<[number, SnapshotValue]> => {
      const v = p.values.get(m.name);
      return v === undefined ? [] : [[p.receivedAtMs, v]];
    });
    if (series.length === 0) {
      missing.push(m.name);
      continue;
    }
    if (m.type === "integer" || m.type === "float") {
      numbers.push(
        `<div class="card" data-metric="${m.name}"><h3>${m.name}</h3>${
          timeSeriesChart({
            title: m.name,
            unit: UNITS[m.name] ?? "",
            points: series as TimePoint[],
            whole: m.type === "integer",
          })
        }</div>`,
      );
    } else if (m.type === "boolean") {
      states.push(
        `<div class="card" data-metric="${m.name}"><h3>${m.name}</h3>${
          stateStrip({
            title: m.name,
            points: series as Array<[number, boolean]>,
            until: Math.max(input.now, latest.receivedAtMs),
          })
        }</div>`,
      );
    } else {
      let previous: string | undefined;
      for (const [at, v] of series as Array<[number, string]>) {
        if (v === previous) continue;
        changes.push({ at, metric: m.name, from: previous, to: v });
        previous = v;
      }
    }
  }
  const changeLog = changes.length === 0
    ? '<p class="note">No string metric reported.</p>'
    : `<table class="list" id="changes"><thead><tr><th>received</th><th>metric</th><th>value</th></tr></thead><tbody>${
      changes.sort((a, b) => b.at - a.at).map((c) =>
        `<tr data-metric="${c.metric}"><td data-label="received"><time datetime="${
          iso(c.at)
        }">${
          formatTime(c.at)
        }</time></td><td data-label="metric">${c.metric}</td><td data-label="value">${
          c.from === undefined
            ? `${esc(c.to)} <span class="note">(first seen)</span>`
            : `${esc(c.from)} → ${esc(c.to)}`
        }</td></tr>`
      ).join("")
    }</tbody></table>`;
  const latestRows = CATALOGUE.filter((m) => latest.values.has(m.name)).map(
    (m) =>
      `<tr data-metric="${m.name}"><td data-label="metric">${m.name}</td><td class="n" data-label="latest">${
        esc(formatValue(latest.values.get(m.name)!))
      }</td></tr>`,
  ).join("");

  const body = `<p><a href="/">← the fleet</a></p>
<h1>Cluster <code id="cluster-id">${esc(id)}</code></h1>
<p class="lead">${keptSentence(input)}</p>
<div class="card"><dl>${facts}</dl></div>
<h2>History</h2>
${about}
<div class="grid">${numbers.join("")}</div>
<h2>States</h2>
<div class="grid">${
    states.join("") || '<p class="note">No boolean metric reported.</p>'
  }</div>
<h2>Changes</h2>
<div class="card">${changeLog}</div>
<h2>Latest values</h2>
<div class="card"><table id="latest"><thead><tr><th>metric</th><th class="n">latest</th></tr></thead><tbody>${latestRows}</tbody></table>${
    missing.length > 0
      ? `<p class="note">Not reported: ${missing.join(", ")}.</p>`
      : ""
  }</div>`;
  return {
    status: 200,
    html: document(`hodometer receiver: cluster ${id.slice(0, 40)}`, body),
  };
}
