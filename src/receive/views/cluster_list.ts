// The page's view of the fleet as a list: which clusters, sorted and filtered
// by the query parameters of the request, one page of them. Pure: parameters
// in, the parsed view or the problems out; snapshots in, a page of rows out.
// Query parameters are hostile input like event content: an unknown or
// malformed one is named in a problem, never thrown on.

import { durationRange, parseDurationWithin } from "../../config/parsers.ts";
import type { ClusterSnapshot } from "../store/mod.ts";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../runtime/units.ts";
import {
  compareVersions,
  FEATURES,
  FLEET_WINDOW_MS,
  isBehind,
  newestMajorMinor,
  seenWithin,
  serverNames,
  SILENT_AFTER_MS,
  SIZE_METRICS,
  VERSION_METRICS,
  type VersionMetric,
} from "./fleet.ts";

/** Clusters a page of the list shows unless `per` says otherwise. */
export const PAGE_SIZE = 50;
/** The largest `per`. */
export const MAX_PAGE_SIZE = 200;
const MAX_DURATION_MS = 36500 * DAY_MS;

/** What the list can be sorted by: last seen, the id, a version, a size. */
export const SORT_KEYS = [
  "last_seen",
  "cluster",
  ...VERSION_METRICS.map(([m]) => m),
  ...SIZE_METRICS.map(([m]) => m),
] as const;
/** One of SORT_KEYS. */
export type SortKey = typeof SORT_KEYS[number];
const NUMERIC_KEYS: readonly string[] = SIZE_METRICS.map(([m]) => m);
const VERSION_KEYS: readonly string[] = VERSION_METRICS.map(([m]) => m);

/** What the list of clusters shows: its filters, order and page, as the query asks. */
export interface ListView {
  /** What the list is sorted by. */
  sort: SortKey;
  /** Which way. */
  order: "asc" | "desc";
  /** Exact versions asked for, by version metric. */
  versions: Partial<Record<VersionMetric, string>>;
  /** Only clusters behind the newest major.minor of this version metric. */
  behind?: VersionMetric;
  /** Heard from within this long (ms), or silent (not within silentAfterMs). */
  seen?: number | "silent";
  /** A cluster not heard from for this long (ms) is silent. */
  silentAfterMs: number;
  /** A feature in use (a FEATURES key). */
  feature?: string;
  /** An inference server in use. */
  server?: string;
  /** A size metric within [min, max] (either may be absent). */
  metric?: { name: string; min?: number; max?: number };
  /** The page shown, from 1. */
  page: number;
  /** Clusters per page. */
  per: number;
  /** Fleet facts over clusters heard from within this long; null for all. */
  windowMs: number | null;
}

/** The view a query asks for, or every problem with the query. */
export type ParsedView =
  | { ok: true; view: ListView }
  | { ok: false; problems: string[] };

/** The view of an empty query. */
export const DEFAULT_VIEW: ListView = {
  sort: "last_seen",
  order: "desc",
  versions: {},
  silentAfterMs: SILENT_AFTER_MS,
  page: 1,
  per: PAGE_SIZE,
  windowMs: FLEET_WINDOW_MS,
};

const PARAMS = [
  "sort",
  "order",
  ...VERSION_KEYS,
  "behind",
  "seen",
  "silent_after",
  "feature",
  "server",
  "metric",
  "min",
  "max",
  "page",
  "per",
  "window",
];

/** A parameter's value as it may be echoed: clipped and quoted. */
const shown = (v: string) =>
  JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);

const durationOf = parseDurationWithin(MINUTE_MS, MAX_DURATION_MS);

/** The view a query string asks for; every bad parameter is named. */
export function parseView(query: string): ParsedView {
  const params = new URLSearchParams(query);
  const problems: string[] = [];
  const view: ListView = { ...DEFAULT_VIEW, versions: {} };
  const one = (name: string): string | undefined => {
    const v = params.get(name);
    return v === null || v.trim() === "" ? undefined : v.trim();
  };
  const oneOf = <T extends string>(
    name: string,
    choices: readonly T[],
  ): T | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    if ((choices as readonly string[]).includes(v)) return v as T;
    problems.push(`${name}=${shown(v)}: expected one of ${choices.join(", ")}`);
    return undefined;
  };
  const whole = (name: string, min: number, max: number) => {
    const v = one(name);
    if (v === undefined) return undefined;
    const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
    if (n >= min && n <= max) return n;
    problems.push(
      `${name}=${shown(v)}: expected a whole number from ${min} to ${max}`,
    );
    return undefined;
  };
  const number = (name: string) => {
    const v = one(name);
    if (v === undefined) return undefined;
    const n = /^-?\d{1,15}(\.\d{1,9})?$/.test(v) ? Number(v) : NaN;
    if (Number.isFinite(n)) return n;
    problems.push(`${name}=${shown(v)}: expected a number, e.g. 10 or 2.5`);
    return undefined;
  };
  const duration = (name: string, extra: string[] = []) => {
    const v = one(name);
    if (v === undefined || extra.includes(v)) return v;
    const parsed = durationOf(v);
    if (parsed.ok) return parsed.value;
    problems.push(
      `${name}=${shown(v)}: expected ${
        [...extra, `a duration ${durationRange(MINUTE_MS, MAX_DURATION_MS)}`]
          .join(" or ")
      }, e.g. 16h, 7d`,
    );
    return undefined;
  };

  for (const name of new Set(params.keys())) {
    if (!PARAMS.includes(name)) {
      problems.push(
        `unknown parameter ${shown(name)}: the page reads ${PARAMS.join(", ")}`,
      );
    }
  }
  view.sort = oneOf("sort", SORT_KEYS) ?? view.sort;
  view.order = oneOf("order", ["asc", "desc"] as const) ?? view.order;
  for (const metric of VERSION_KEYS as VersionMetric[]) {
    const v = params.get(metric);
    if (v !== null && v !== "") view.versions[metric] = v;
  }
  const behind = oneOf("behind", VERSION_KEYS as VersionMetric[]);
  if (behind) view.behind = behind;
  const seen = duration("seen", ["silent", "any"]);
  if (seen !== undefined && seen !== "any") {
    view.seen = seen as number | "silent";
  }
  const silentAfter = duration("silent_after");
  if (typeof silentAfter === "number") view.silentAfterMs = silentAfter;
  const feature = oneOf("feature", FEATURES.map((f) => f.key));
  if (feature) view.feature = feature;
  const server = one("server");
  if (server !== undefined) view.server = server;
  const metric = oneOf("metric", NUMERIC_KEYS);
  const [min, max] = [number("min"), number("max")];
  if (metric !== undefined) {
    view.metric = { name: metric };
    if (min !== undefined) view.metric.min = min;
    if (max !== undefined) view.metric.max = max;
  } else if (min !== undefined || max !== undefined) {
    problems.push("min and max need metric=<a size metric> to apply to");
  }
  view.page = whole("page", 1, 1_000_000) ?? view.page;
  view.per = whole("per", 1, MAX_PAGE_SIZE) ?? view.per;
  const window = duration("window", ["all"]);
  if (window === "all") view.windowMs = null;
  else if (typeof window === "number") view.windowMs = window;

  return problems.length > 0 ? { ok: false, problems } : { ok: true, view };
}

/** The query string of a view (only what differs from the defaults), with changes. */
export function viewQuery(
  view: ListView,
  changes: Partial<ListView> = {},
): string {
  const v = { ...view, ...changes };
  const p = new URLSearchParams();
  if (v.sort !== DEFAULT_VIEW.sort) p.set("sort", v.sort);
  if (v.order !== DEFAULT_VIEW.order) p.set("order", v.order);
  for (const [metric, value] of Object.entries(v.versions)) {
    if (value !== undefined) p.set(metric, value);
  }
  if (v.behind) p.set("behind", v.behind);
  if (v.seen !== undefined) {
    p.set("seen", v.seen === "silent" ? "silent" : durationParam(v.seen));
  }
  if (v.silentAfterMs !== DEFAULT_VIEW.silentAfterMs) {
    p.set("silent_after", durationParam(v.silentAfterMs));
  }
  if (v.feature) p.set("feature", v.feature);
  if (v.server) p.set("server", v.server);
  if (v.metric) {
    p.set("metric", v.metric.name);
    if (v.metric.min !== undefined) p.set("min", String(v.metric.min));
    if (v.metric.max !== undefined) p.set("max", String(v.metric.max));
  }
  if (v.windowMs !== DEFAULT_VIEW.windowMs) {
    p.set("window", v.windowMs === null ? "all" : durationParam(v.windowMs));
  }
  if (v.per !== DEFAULT_VIEW.per) p.set("per", String(v.per));
  if (v.page !== 1) p.set("page", String(v.page));
  const q = p.toString();
  return q === "" ? "" : `?${q}`;
}

/** Milliseconds as a duration parameter: whole days, hours or minutes. */
export function durationParam(n: number): string {
  if (n % DAY_MS === 0) return `${n / DAY_MS}d`;
  if (n % HOUR_MS === 0) return `${n / HOUR_MS}h`;
  return `${Math.round(n / MINUTE_MS)}m`;
}

/** A page of the list. */
export interface ListPage {
  /** The clusters of the page, in order. */
  rows: ClusterSnapshot[];
  /** Clusters that pass the filters. */
  matching: number;
  /** The page shown (the last when the one asked for is past it). */
  page: number;
  /** How many pages there are, at least 1. */
  pages: number;
}

/** The clusters a view selects, sorted, and the page of them it asks for. */
export function listClusters(
  clusters: Iterable<ClusterSnapshot>,
  view: ListView,
  now: number,
): ListPage {
  const all = [...clusters];
  const newest = view.behind
    ? newestMajorMinor(
      all.flatMap((s) => {
        const v = s.values.get(view.behind!);
        return typeof v === "string" ? [v] : [];
      }),
    )
    : null;
  const feature = FEATURES.find((f) => f.key === view.feature);
  const selected = all.filter((s) => {
    for (const [metric, want] of Object.entries(view.versions)) {
      if (s.values.get(metric) !== want) return false;
    }
    if (view.behind) {
      const v = s.values.get(view.behind);
      if (typeof v !== "string" || !isBehind(v, newest)) return false;
    }
    if (view.seen === "silent") {
      if (seenWithin(s, now, view.silentAfterMs)) return false;
    } else if (view.seen !== undefined) {
      if (!seenWithin(s, now, view.seen)) return false;
    }
    if (feature && feature.test(s.values) !== true) return false;
    if (
      view.server !== undefined &&
      !serverNames(s.values.get("inference_server_name")).includes(view.server)
    ) return false;
    if (view.metric) {
      const v = s.values.get(view.metric.name);
      if (typeof v !== "number") return false;
      if (view.metric.min !== undefined && v < view.metric.min) return false;
      if (view.metric.max !== undefined && v > view.metric.max) return false;
    }
    return true;
  });
  selected.sort(comparator(view));
  const pages = Math.max(1, Math.ceil(selected.length / view.per));
  const page = Math.min(view.page, pages);
  return {
    rows: selected.slice((page - 1) * view.per, page * view.per),
    matching: selected.length,
    page,
    pages,
  };
}

/** The view's order; clusters missing the sorted value come last either way. */
function comparator(view: ListView) {
  const dir = view.order === "asc" ? 1 : -1;
  const byId = (a: ClusterSnapshot, b: ClusterSnapshot) =>
    a.distinctId < b.distinctId ? -1 : a.distinctId > b.distinctId ? 1 : 0;
  if (view.sort === "last_seen") {
    return (a: ClusterSnapshot, b: ClusterSnapshot) =>
      dir * (a.lastSeenMs - b.lastSeenMs) || byId(a, b);
  }
  if (view.sort === "cluster") {
    return (a: ClusterSnapshot, b: ClusterSnapshot) => dir * byId(a, b);
  }
  const key = view.sort;
  const numeric = NUMERIC_KEYS.includes(key);
  return (a: ClusterSnapshot, b: ClusterSnapshot) => {
    const [va, vb] = [a.values.get(key), b.values.get(key)];
    const [ha, hb] = numeric
      ? [typeof va === "number", typeof vb === "number"]
      : [
        typeof va === "string" && va !== "",
        typeof vb === "string" && vb !== "",
      ];
    if (ha !== hb) return ha ? -1 : 1;
    if (!ha) return byId(a, b);
    const d = numeric
      ? (va as number) - (vb as number)
      : compareVersions(va as string, vb as string);
    return dir * d || byId(a, b);
  };
}
