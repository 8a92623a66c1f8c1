// The overview page at GET /: one self-contained HTML document (inline CSS,
// server-rendered SVG, no script, nothing fetched from anywhere) listing the
// most recently seen clusters (at most PAGE_CLUSTERS), when, their Seldon
// version, and each catalogue metric's latest value (from the event received
// last) with a small chart of its recent history (at most HISTORY_EVENTS events,
// by receive time). Bounded: the page never holds more than that. Every piece of
// event content is escaped: it is hostile input.

import { CATALOGUE } from "../metrics/catalogue.ts";
import type { ClusterBook, ClusterSnapshot } from "./clusters.ts";
import { escapeHtml } from "./html.ts";
import type { HistoryPoint } from "./store.ts";

export { escapeHtml };

/** Nothing may load from anywhere; only the inline style is allowed. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Clusters shown, most recently seen first. */
export const PAGE_CLUSTERS = 50;
/** Events of a cluster read for its charts. */
export const HISTORY_EVENTS = 30;

export interface OverviewInput {
  clusters: ClusterBook;
  /** A cluster's recent events, oldest first; empty where none are kept. */
  history: (distinctId: string) => HistoryPoint[];
  recordLevel: string;
  totalEvents: number;
  /** Where the history comes from, said on the page. */
  historySource: string;
  now: number;
}

const STRINGS: Array<[string, string]> = [
  ["seldon_core_version", "Seldon Core"],
  ["kubernetes_version", "Kubernetes"],
  ["inference_server_name", "Inference servers"],
  ["collector_version", "Collector"],
  ["collector_git_commit", "Collector commit"],
];
const CATALOGUE_ORDER = new Map<string, number>(
  CATALOGUE.map((m, i) => [m.name, i]),
);

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f24;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 .25rem}
h2{font-size:1.1rem;margin:0 0 .5rem;word-break:break-all}
.summary{color:#555;margin:0 0 1.5rem}
.cluster{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 .75rem}
dt{color:#555}dd{margin:0;word-break:break-all}
table{border-collapse:collapse}
th,td{text-align:left;padding:.2rem .75rem .2rem 0;border-bottom:1px solid #eee;vertical-align:middle}
td.value{font-variant-numeric:tabular-nums;text-align:right}
svg{display:block}
.empty{color:#555}
`;

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

const iso = (ms: number) =>
  Number.isFinite(ms) && Math.abs(ms) < 8.64e15
    ? new Date(ms).toISOString()
    : "unknown";

export function renderOverview(input: OverviewInput): string {
  const shown = input.clusters.recent(PAGE_CLUSTERS);
  const total = input.clusters.size;
  const body = shown.length === 0
    ? `<p class="empty" id="no-clusters">No events received yet.</p>`
    : shown.map((s) => clusterSection(s, input)).join("\n");
  const more = total > shown.length
    ? ` (the ${shown.length} most recently seen are shown; /metrics has all ${total})`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hodometer receiver</title>
<style>${STYLE}</style>
</head>
<body>
<h1>hodometer receiver</h1>
<p class="summary"><span id="cluster-count">${total}</span> cluster(s) seen${more} ·
<span id="total-events">${input.totalEvents}</span> event(s) recorded ·
record level <span id="record-level">${escapeHtml(input.recordLevel)}</span> ·
history from ${escapeHtml(input.historySource)} ·
rendered <time datetime="${iso(input.now)}">${iso(input.now)}</time></p>
${body}
</body>
</html>
`;
}

function clusterSection(s: ClusterSnapshot, input: OverviewInput): string {
  const id = escapeHtml(s.distinctId);
  const facts = [
    `<dt>Last seen</dt><dd data-field="last_seen"><time datetime="${
      iso(s.lastSeenMs)
    }">${iso(s.lastSeenMs)}</time> (${ago(input.now - s.lastSeenMs)})</dd>`,
    ...STRINGS.map(([name, label]) => {
      const v = s.values.get(name);
      return `<dt>${label}</dt><dd data-field="${name}">${
        typeof v === "string" && v !== ""
          ? escapeHtml(v)
          : '<span class="empty">not reported</span>'
      }</dd>`;
    }),
  ];
  const history = input.history(s.distinctId);
  const numeric = [...s.values.entries()]
    .filter((entry): entry is [string, number | boolean] =>
      typeof entry[1] !== "string"
    )
    .sort(([a], [b]) =>
      (CATALOGUE_ORDER.get(a) ?? Infinity) -
        (CATALOGUE_ORDER.get(b) ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0)
    );
  const rows = numeric.map(([name, value]) => {
    const points = seriesOf(history, name, s.lastSeenMs, value);
    return `<tr data-metric="${escapeHtml(name)}"><td>${
      escapeHtml(name)
    }</td><td class="value">${formatValue(value)}</td><td>${
      sparkline(name, points)
    }</td></tr>`;
  });
  return `<section class="cluster" data-cluster="${id}">
<h2>Cluster <code>${id}</code></h2>
<dl>${facts.join("")}</dl>
${
    rows.length === 0
      ? '<p class="empty">No numeric metrics in the latest event.</p>'
      : `<table><thead><tr><th>metric</th><th>latest</th><th>history</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table>`
  }
</section>`;
}

function formatValue(value: number | boolean): string {
  if (typeof value === "boolean") return value ? "true" : "false";
  return Number.isInteger(value)
    ? String(value)
    : String(Math.round(value * 1000) / 1000);
}

type Point = [time: number, value: number];

/** (receive time, value) of a metric over the history; the latest value alone without one. */
function seriesOf(
  history: HistoryPoint[],
  name: string,
  latestTime: number,
  latest: number | boolean,
): Point[] {
  const points: Point[] = [];
  for (const point of history) {
    const v = point.values.get(name);
    if (v !== undefined) points.push([point.receivedAtMs, v]);
  }
  if (points.length > 0) return points;
  return [[
    latestTime,
    typeof latest === "boolean" ? (latest ? 1 : 0) : latest,
  ]];
}

const W = 180;
const H = 36;
const PAD = 4;
const r = (n: number) => Math.round(n * 10) / 10;

/** A small line chart: time left to right, value bottom to top. */
export function sparkline(name: string, points: Point[]): string {
  const times = points.map((p) => p[0]);
  const values = points.map((p) => p[1]);
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const [v0, v1] = [Math.min(...values), Math.max(...values)];
  const x = (t: number) =>
    t1 === t0 ? W / 2 : PAD + ((t - t0) / (t1 - t0)) * (W - 2 * PAD);
  const y = (v: number) =>
    v1 === v0 ? H / 2 : H - PAD - ((v - v0) / (v1 - v0)) * (H - 2 * PAD);
  const coords = points.map(([t, v]) => `${r(x(t))},${r(y(v))}`);
  const [lx, ly] = coords[coords.length - 1].split(",");
  const label = `${name}: ${points.length} point(s), from ${v0} to ${v1}`;
  const line = points.length > 1
    ? `<polyline fill="none" stroke="#2f6fdf" stroke-width="1.5" points="${
      coords.join(" ")
    }"/>`
    : "";
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${
    escapeHtml(label)
  }" data-points="${points.length}"><title>${
    escapeHtml(label)
  }</title>${line}<circle cx="${lx}" cy="${ly}" r="2.5" fill="#2f6fdf"/></svg>`;
}
