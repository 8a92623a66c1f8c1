// The fleet overview at GET /: how many clusters report (per day, from the
// store, when it keeps events), which versions run where and which are behind,
// which features are in use, how large the clusters are, which went silent,
// then the clusters themselves as a sortable, filterable, paged list linking
// to each cluster's own page. Server-rendered HTML and SVG, no script: the
// filters are a GET form and links. Pure: renders what it is given.

import { IdPrefixes } from "./id_prefix.ts";
import {
  barChart,
  dailyChart,
  distributionChart,
  formatNumber,
  percent,
  shareChart,
} from "./charts.ts";
import type { ClusterSnapshot, DayCount } from "../store/mod.ts";
import { DAY_MS, HOUR_MS } from "../../runtime/units.ts";
import {
  DEFAULT_VIEW,
  durationParam,
  listClusters,
  type ListView,
  MAX_PAGE_SIZE,
  PAGE_SIZE,
  parseView,
  type SortKey,
  viewQuery,
} from "./cluster_list.ts";
import {
  FEATURES,
  type FleetFacts,
  fleetFacts,
  SIZE_METRICS,
  spread,
  VERSION_METRICS,
} from "./fleet.ts";
import { type Html, markup } from "./html.ts";
import {
  clusterHref,
  document,
  formatValue,
  grouped as n,
  keptSentence,
  otherEventsSentence,
  type PageAnswer,
  type PageContext,
  problemPage,
  when,
} from "./page.ts";

/** Days of clusters-per-day shown at most. */
const DAILY_DAYS = 400;
/** Silent clusters listed on the overview; the list has them all. */
const SILENT_SHOWN = 10;
/** Values offered in a filter's drop-down, most common first. */
const MAX_OPTIONS = 50;

/** What the overview is rendered from. */
export interface OverviewInput extends PageContext {
  /** The request's query string, without "?". */
  query: string;
  /** Clusters heard from per day since a time; null when the store keeps no events. */
  activeByDay: (sinceMs: number) => DayCount[] | null;
}

/** The address of the view with `changes`. */
const href = (view: ListView, changes: Partial<ListView> = {}) =>
  `/${viewQuery(view, changes)}`;
const windowWords = (ms: number | null) =>
  ms === null
    ? "at any time"
    : ms % DAY_MS === 0
    ? `in the last ${ms / DAY_MS === 1 ? "day" : `${ms / DAY_MS} days`}`
    : `in the last ${formatNumber(ms / HOUR_MS)} h`;
const hours = (ms: number) =>
  ms % DAY_MS === 0 && ms >= 2 * DAY_MS
    ? `${ms / DAY_MS} days`
    : `${formatNumber(ms / HOUR_MS)} h`;

/** The fleet overview, of the view the query asks for. */
export function renderOverview(input: OverviewInput): PageAnswer {
  const parsed = parseView(input.query);
  if (!parsed.ok) {
    return problemPage(
      400,
      "hodometer receiver: this view cannot be shown",
      parsed.problems,
    );
  }
  const view = parsed.view;
  const snapshots = [...input.clusters.values()];
  const prefixes = new IdPrefixes(snapshots.map((s) => s.distinctId));
  const facts = fleetFacts(snapshots, {
    now: input.now,
    windowMs: view.windowMs,
    silentAfterMs: view.silentAfterMs,
  });
  const empty = snapshots.length === 0
    ? markup`<p class="card" id="no-clusters">No events received yet: point a collector's EXTRA_PUBLISH_URLS at this receiver.</p>`
    : "";
  const body = markup`<header>
<h1>hodometer receiver: the fleet</h1>
<p class="lead" id="kept">${keptSentence(input)}${
    otherEventsSentence(input)
  } Rendered <time datetime="${new Date(input.now).toISOString()}">${
    new Date(input.now).toISOString().slice(0, 16).replace("T", " ")
  } UTC</time>.</p>
</header>
${empty}
${reporting(facts, input, view)}
${scope(facts, view)}
${versions(facts, view)}
${features(facts, view)}
${sizes(facts)}
${silent(facts, view, prefixes)}
${clusterList(snapshots, facts, view, input.now, prefixes)}`;
  return { status: 200, html: document("hodometer receiver: the fleet", body) };
}

function reporting(f: FleetFacts, input: OverviewInput, view: ListView): Html {
  const figures = f.active.map((a) =>
    markup`<div class="card" data-active="${a.ms / DAY_MS}d"><div class="big">${
      n(a.count)
    }</div>cluster(s) heard from in the ${a.label}</div>`
  );
  const days = input.activeByDay(input.now - DAILY_DAYS * DAY_MS);
  const daily = days === null
    ? markup`<p class="note" id="daily-absent">Clusters per day need the events themselves (RECORD_LEVEL=all); at record level ${input.recordLevel} this receiver keeps none, so the counts above come from each cluster's latest event alone.</p>`
    : markup`${
      dailyChart({
        title: "Clusters heard from per day",
        unit: "clusters",
        days: days.map((d) => [d.dayMs, d.clusters]),
      })
    }<p class="note">By receive time, UTC days, from ${
      input.keptIn === "sqlite"
        ? "the SQLite store (kept as events are written)"
        : "the events held in memory (the newest only)"
    }; a cluster counts once a day however often it sends.</p>`;
  return markup`<section id="reporting"><h2>Clusters reporting</h2>
<div class="figures">${figures}<div class="card" data-silent><div class="big">${
    n(f.silent.length)
  }</div><a href="${
    href(view, { seen: "silent", page: 1 })
  }">silent</a>: heard from ${windowWords(f.windowMs)}, not in the last ${
    hours(f.silentAfterMs)
  }</div></div>
<div class="card" style="margin-top:.75rem"><h3>Clusters heard from per day</h3>${daily}</div>
</section>`;
}

function scope(f: FleetFacts, view: ListView): Html {
  const windows: Array<[string, number | null]> = [
    ["1 day", DAY_MS],
    ["7 days", 7 * DAY_MS],
    ["30 days", 30 * DAY_MS],
    ["all", null],
  ];
  const links = windows.map(([label, ms], i) =>
    markup`${i > 0 ? " · " : ""}${
      ms === view.windowMs
        ? markup`<b>${label}</b>`
        : markup`<a href="${
          href(view, { windowMs: ms, page: 1 })
        }">${label}</a>`
    }`
  );
  return markup`<p class="note" id="scope">The facts below are of the <b id="considered">${
    n(f.considered)
  }</b> cluster(s) heard from ${windowWords(f.windowMs)} (of ${
    n(f.known)
  } known), each by its latest event. Window: ${links}.</p>`;
}

function versions(f: FleetFacts, view: ListView): Html {
  const cards = f.versions.map((v) => {
    const upgrade = v.newest === null
      ? "No version with a readable major.minor."
      : v.behind === 0
      ? `All that report it run ${v.newest}, the newest seen.`
      : markup`<a href="${href(view, { behind: v.metric, page: 1 })}"><b>${
        n(v.behind)
      }</b> cluster(s)</a> (${
        v.reporting > 0 ? percent(v.behind, v.reporting) : "–"
      }) run a release older than ${v.newest}, the newest seen.`;
    return markup`<div class="card" data-versions="${v.metric}"><h3>${v.label}</h3>${
      barChart({
        title: `${v.label} version`,
        unit: "clusters",
        bars: v.counts,
        total: f.considered,
        maxBars: 10,
      })
    }<p class="note">${n(v.reporting)} of ${
      n(f.considered)
    } reported it. ${upgrade}</p></div>`;
  });
  return markup`<section id="versions"><h2>Versions</h2><div class="grid">${cards}</div></section>`;
}

function features(f: FleetFacts, view: ListView): Html {
  const links = f.features.map((x, i) =>
    markup`${i > 0 ? " · " : ""}<a href="${
      href(view, { feature: x.key, page: 1 })
    }">${x.label}</a>`
  );
  return markup`<section id="features"><h2>Features in use</h2><div class="grid">
<div class="card"><h3>Share of clusters using each feature</h3>${
    shareChart({
      title: "Feature adoption",
      unit: "clusters",
      rows: f.features.map((x) => ({
        label: x.label,
        count: x.count,
        of: x.of,
      })),
    })
  }<p class="note">Each of the clusters that reported the metric it is read from (a cluster that could not read it says nothing). List them: ${links}.</p></div>
<div class="card"><h3>Inference servers</h3>${
    barChart({
      title: "Clusters per inference server",
      unit: "clusters",
      bars: f.servers,
      total: f.serversReporting,
      maxBars: 12,
    })
  }<p class="note">Shares of the ${
    n(f.serversReporting)
  } cluster(s) that reported their inference servers; a cluster may run several.</p></div>
</div></section>`;
}

function sizes(f: FleetFacts): Html {
  const rows = f.sizes.map((s) => {
    const q = spread(s.values);
    const cell = (label: string, value: string) =>
      markup`<td class="n" data-label="${label}">${value}</td>`;
    return markup`<tr data-metric="${s.metric}"><td data-label="metric">${s.label} (${s.unit})</td>${
      cell("clusters", n(s.values.length))
    }${cell("total", formatValue(s.total))}${
      cell("median", q ? formatValue(q.median) : "–")
    }${
      cell("quartiles", q ? `${formatValue(q.q1)}–${formatValue(q.q3)}` : "–")
    }${cell("largest", q ? formatValue(q.max) : "–")}</tr>`;
  });
  const charts = f.sizes.map((s) =>
    markup`<div class="card"><h3>${s.label} per cluster</h3>${
      distributionChart({ title: s.label, unit: s.unit, values: s.values })
    }</div>`
  );
  return markup`<section id="sizes"><h2>Sizes</h2>
<div class="card"><table class="list" id="size-table"><thead><tr><th>metric</th><th class="n">clusters</th><th class="n">total</th><th class="n">median</th><th class="n">quartiles</th><th class="n">largest</th></tr></thead><tbody>${rows}</tbody></table><p class="note">Per cluster, from its latest event; clusters that did not report a metric are not counted in it.</p></div>
<div class="grid" style="margin-top:.75rem">${charts}</div></section>`;
}

function silent(
  f: FleetFacts,
  view: ListView,
  prefixes: IdPrefixes,
): Html {
  if (f.silent.length === 0) {
    return markup`<section id="silent"><h2>Silent clusters</h2><p>None: every cluster heard from ${
      windowWords(f.windowMs)
    } was heard from in the last ${hours(f.silentAfterMs)}.</p></section>`;
  }
  const rows = f.silent.slice(0, SILENT_SHOWN).map((s) =>
    markup`<tr><td data-label="cluster">${
      clusterLink(s, prefixes)
    }</td><td data-label="last seen">${
      when(s.lastSeenMs, f.now)
    }</td><td data-label="Seldon Core">${
      str(s, "seldon_core_version")
    }</td><td data-label="collector">${str(s, "collector_version")}</td></tr>`
  );
  return markup`<section id="silent"><h2>Silent clusters</h2>
<p>${n(f.silent.length)} cluster(s) heard from ${
    windowWords(f.windowMs)
  } sent nothing in the last ${
    hours(f.silentAfterMs)
  } (two publish intervals of 8 h unless <code>silent_after</code> says otherwise); the most recently heard first${
    f.silent.length > SILENT_SHOWN
      ? markup`, <a href="${
        href(view, { seen: "silent", page: 1 })
      }">all of them in the list</a>`
      : ""
  }.</p>
<div class="card"><table id="silent-list"><thead><tr><th>cluster</th><th>last seen</th><th>Seldon Core</th><th>collector</th></tr></thead><tbody>${rows}</tbody></table></div>
</section>`;
}

/** A string metric of a cluster's latest event, or a dash. */
function str(s: ClusterSnapshot, name: string): Html | string {
  const v = s.values.get(name);
  return typeof v === "string" && v !== "" ? v : NONE;
}

const NONE = markup`<span class="note">–</span>`;

/** A link to a cluster's page, named by the shortest prefix of its id that is unique. */
function clusterLink(s: ClusterSnapshot, prefixes: IdPrefixes): Html {
  const id = s.distinctId;
  return markup`<a href="${clusterHref(id)}" title="${id}"><code>${
    prefixes.short(id)
  }</code></a>`;
}

const COLUMNS: Array<[SortKey, string, "text" | "number"]> = [
  ["cluster", "cluster", "text"],
  ["last_seen", "last seen", "text"],
  ...VERSION_METRICS.map(([m, label]): [SortKey, string, "text"] => [
    m,
    label.replace(" (hodometer)", ""),
    "text",
  ]),
  ["model_count", "Models", "number"],
  ["pipeline_count", "Pipelines", "number"],
  ["server_count", "Servers", "number"],
  ["server_replica_count", "Replicas", "number"],
  ["server_memory_gb_sum", "Memory (GB)", "number"],
  ["server_cpu_cores_sum", "CPU (cores)", "number"],
  ["node_count", "Nodes", "number"],
];

/** The list's column heads: each a link that sorts by it (the other way when it sorts already). */
function columnHeads(view: ListView): Html[] {
  return COLUMNS.map(([key, label, kind]) => {
    const sorted = view.sort === key;
    const order = sorted
      ? (view.order === "desc" ? "asc" : "desc")
      : (kind === "number" || key === "last_seen" ? "desc" : "asc");
    const mark = sorted ? (view.order === "desc" ? " ▼" : " ▲") : "";
    return markup`<th${kind === "number" ? markup` class="n"` : ""}${
      sorted
        ? markup` aria-sort="${
          view.order === "desc" ? "descending" : "ascending"
        }"`
        : ""
    }><a href="${
      href(view, { sort: key, order, page: 1 })
    }">${label}</a>${mark}</th>`;
  });
}

/** A cluster's row of the list, a line of its own. */
function clusterRow(
  s: ClusterSnapshot,
  now: number,
  prefixes: IdPrefixes,
): Html {
  const cells = COLUMNS.map(([key, label, kind]) => {
    let cell: Html | string;
    if (key === "cluster") cell = clusterLink(s, prefixes);
    else if (key === "last_seen") cell = when(s.lastSeenMs, now);
    else if (kind === "text") cell = str(s, key);
    else {
      const v = s.values.get(key);
      cell = typeof v === "number" ? formatValue(v) : NONE;
    }
    return markup`<td${
      kind === "number" ? markup` class="n"` : ""
    } data-label="${label}">${cell}</td>`;
  });
  return markup`<tr data-cluster="${s.distinctId}">${cells}</tr>\n`;
}

/** Links to the previous and next page of the list, when there is more than one. */
function pager(page: { page: number; pages: number }, view: ListView) {
  if (page.pages <= 1) return "";
  return markup`<nav class="pages" aria-label="pages">${
    page.page > 1
      ? markup`<a href="${
        href(view, { page: page.page - 1 })
      }" rel="prev">← previous</a>`
      : ""
  }<span>page ${page.page} of ${page.pages}</span>${
    page.page < page.pages
      ? markup`<a href="${
        href(view, { page: page.page + 1 })
      }" rel="next">next →</a>`
      : ""
  }</nav>`;
}

/** The clusters the view selects, a page of them, with the filters above. */
function clusterList(
  snapshots: ClusterSnapshot[],
  facts: FleetFacts,
  view: ListView,
  now: number,
  prefixes: IdPrefixes,
): Html {
  const page = listClusters(snapshots, view, now);
  const rows = page.rows.map((s) => clusterRow(s, now, prefixes));
  const pages = pager(page, view);
  const first = (page.page - 1) * view.per;
  return markup`<section id="clusters"><h2>Clusters</h2>
${filterForm(facts, view)}
<p id="matching"><b>${n(page.matching)}</b> of ${
    n(snapshots.length)
  } known cluster(s) match${
    page.rows.length > 0
      ? `; ${n(first + 1)}–${n(first + page.rows.length)} shown`
      : ""
  }. <a href="/">Reset</a></p>
${pages}
<table class="list" id="cluster-list"><thead><tr>${
    columnHeads(view)
  }</tr></thead><tbody>
${rows}</tbody></table>
${pages}
</section>`;
}

/** An option of a drop-down: its value and its text. */
export type Choice = [value: string, text: string];

/** A drop-down of the form, `current` selected (and offered even when it is not among `options`). */
export function select(
  name: string,
  label: string,
  options: Choice[],
  current: string,
): Html {
  // The current value stays selectable even when it is not among the common ones.
  const all = options.some(([v]) => v === current)
    ? options
    : [...options, [current, current] as Choice];
  return markup`<label>${label}<select name="${name}">${
    all.map(([v, text]) =>
      markup`<option value="${v}"${
        v === current ? markup` selected` : ""
      }>${text}</option>`
    )
  }</select></label>`;
}

const ANY: Choice = ["", "any"];

const SEEN_CHOICES: Choice[] = [
  ["1d", "in the last day"],
  ["7d", "in the last 7 days"],
  ["30d", "in the last 30 days"],
  ["silent", "silent"],
];

/** The filters by what clusters run and report: versions, being behind, last seen, features, servers, a size metric's range. */
function whatFilters(f: FleetFacts, view: ListView): Html {
  const versionSelects = f.versions.map((v) =>
    select(v.metric, v.label.replace(" (hodometer)", ""), [
      ANY,
      ...v.counts.filter((c) => c.label !== "").slice(0, MAX_OPTIONS).map((
        c,
      ): Choice => [c.label, c.label]),
    ], view.versions[v.metric] ?? "")
  );
  const seen = view.seen === undefined
    ? ""
    : view.seen === "silent"
    ? "silent"
    : durationParam(view.seen);
  const servers = f.servers.slice(0, MAX_OPTIONS).map((c) => c.label).sort();
  return markup`${versionSelects}${
    select("behind", "Behind the newest", [
      ANY,
      ...VERSION_METRICS.map(([m, label]): Choice => [m, label]),
    ], view.behind ?? "")
  }${select("seen", "Last seen", [ANY, ...SEEN_CHOICES], seen)}${
    select("feature", "Feature in use", [
      ANY,
      ...FEATURES.map((f): Choice => [f.key, f.label]),
    ], view.feature ?? "")
  }${
    select("server", "Inference server", [
      ANY,
      ...servers.map((s): Choice => [s, s]),
    ], view.server ?? "")
  }${
    select("metric", "Metric", [
      ["", "none"],
      ...SIZE_METRICS.map(([m, label]): Choice => [m, label]),
    ], view.metric?.name ?? "")
  }<label>at least<input type="number" step="any" name="min" value="${
    view.metric?.min ?? ""
  }"></label><label>at most<input type="number" step="any" name="max" value="${
    view.metric?.max ?? ""
  }"></label>`;
}

/** The list's order and page size. */
function orderFilters(view: ListView): Html {
  const per = [10, 25, PAGE_SIZE, 100, MAX_PAGE_SIZE];
  return markup`${
    select(
      "sort",
      "Sort by",
      COLUMNS.map(([key, label]): Choice => [key, label]),
      view.sort,
    )
  }${
    select("order", "Order", [["desc", "descending"], [
      "asc",
      "ascending",
    ]], view.order)
  }${
    select(
      "per",
      "Per page",
      per.map((p): Choice => [String(p), String(p)]),
      String(view.per),
    )
  }`;
}

/** What the form keeps of the view without showing it: the window and silent_after, when not the defaults. */
export function hiddenParams(view: ListView): Array<[string, string]> {
  const hidden: Array<[string, string]> = [];
  if (view.windowMs !== DEFAULT_VIEW.windowMs) {
    hidden.push([
      "window",
      view.windowMs === null ? "all" : durationParam(view.windowMs),
    ]);
  }
  if (view.silentAfterMs !== DEFAULT_VIEW.silentAfterMs) {
    hidden.push(["silent_after", durationParam(view.silentAfterMs)]);
  }
  return hidden;
}

/** The list's filters as a GET form; the values offered are those of the fleet facts (the window's clusters), most common first. */
function filterForm(f: FleetFacts, view: ListView): Html {
  return markup`<form method="get" action="/" id="filters">${
    whatFilters(f, view)
  }${orderFilters(view)}${
    hiddenParams(view).map(([name, value]) =>
      markup`<input type="hidden" name="${name}" value="${value}">`
    )
  }<button type="submit">Apply</button></form>`;
}
