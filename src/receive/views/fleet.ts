// Fleet facts from the latest snapshot of each cluster: who reported when,
// which versions run where (and which are behind the newest seen), which
// features are in use, and how large the clusters are. Pure: it reads the
// snapshots it is given and the time it is told, nothing else. A metric a
// cluster did not report is unknown, never 0 or false: every share says of
// how many clusters reporting it.

import type { ClusterSnapshot } from "../store/mod.ts";
import type { SnapshotValue } from "../event/mod.ts";
import { quantile } from "./charts.ts";
import { SETTINGS } from "../../config/settings.ts";
import { DAY_MS } from "../../runtime/units.ts";

/** Two publish intervals of the collector (PUBLISH_INTERVAL's default each). */
export const SILENT_AFTER_MS: number = 2 * SETTINGS.intervalMs.default;
/** Fleet facts are of the clusters heard from within this window unless asked otherwise. */
export const FLEET_WINDOW_MS = 30 * DAY_MS;

/** The version metrics the fleet is broken down by, with their labels. */
export const VERSION_METRICS = [
  ["seldon_core_version", "Seldon Core"],
  ["kubernetes_version", "Kubernetes"],
  ["collector_version", "Collector (hodometer)"],
] as const;
/** A metric of VERSION_METRICS. */
export type VersionMetric = typeof VERSION_METRICS[number][0];

/** A feature a cluster may use, read from its snapshot. */
export interface Feature {
  /** Its name in a view's query (`feature=`). */
  key: string;
  /** What the page calls it. */
  label: string;
  /** Whether a cluster's snapshot says yes, no, or nothing (undefined). */
  test: (values: ReadonlyMap<string, SnapshotValue>) => boolean | undefined;
}

const positive = (name: string) => (v: ReadonlyMap<string, SnapshotValue>) => {
  const n = v.get(name);
  return typeof n === "number" ? n > 0 : undefined;
};
const isTrue = (name: string) => (v: ReadonlyMap<string, SnapshotValue>) => {
  const b = v.get(name);
  return typeof b === "boolean" ? b : undefined;
};

/** The features the overview counts, in the order shown. */
export const FEATURES: readonly Feature[] = [
  {
    key: "multimodel",
    label: "Multi-model serving",
    test: positive("multimodel_enabled_count"),
  },
  {
    key: "overcommit",
    label: "Overcommit",
    test: positive("overcommit_enabled_count"),
  },
  { key: "gpu", label: "GPUs", test: positive("gpu_enabled_count") },
  {
    key: "global",
    label: "Global installation",
    test: isTrue("is_global_installation"),
  },
  { key: "kubernetes", label: "In Kubernetes", test: isTrue("is_kubernetes") },
  { key: "pipelines", label: "Pipelines", test: positive("pipeline_count") },
  {
    key: "experiments",
    label: "Experiments",
    test: positive("experiment_count"),
  },
];

/** The size metrics, with what they count. */
export const SIZE_METRICS = [
  ["model_count", "Models", "models"],
  ["pipeline_count", "Pipelines", "pipelines"],
  ["experiment_count", "Experiments", "experiments"],
  ["server_count", "Servers", "servers"],
  ["server_replica_count", "Server replicas", "replicas"],
  ["server_memory_gb_sum", "Server memory", "GB"],
  ["server_cpu_cores_sum", "Server CPU", "cores"],
  ["node_count", "Kubernetes nodes", "nodes"],
] as const;
/** A metric of SIZE_METRICS. */
export type SizeMetric = typeof SIZE_METRICS[number][0];

/** [major, minor] of a version such as `2.9.1` or `v1.31.0-eks`; null when it has none. */
export function majorMinor(version: string): [number, number] | null {
  const m = /^v?(\d{1,6})\.(\d{1,6})(?!\d)/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Orders versions by their numbers (2.10 after 2.9), then as text. */
export function compareVersions(a: string, b: string): number {
  const na = a.match(/\d{1,15}/g) ?? [];
  const nb = b.match(/\d{1,15}/g) ?? [];
  for (let i = 0; i < Math.min(na.length, nb.length); i++) {
    const d = Number(na[i]) - Number(nb[i]);
    if (d !== 0) return d;
  }
  if (na.length !== nb.length) return na.length - nb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const cmpMajorMinor = (a: [number, number], b: [number, number]) =>
  a[0] - b[0] || a[1] - b[1];

/** The newest major.minor among the versions, as `2.9`; null when none has one. */
export function newestMajorMinor(versions: Iterable<string>): string | null {
  let newest: [number, number] | null = null;
  for (const v of versions) {
    const mm = majorMinor(v);
    if (mm && (!newest || cmpMajorMinor(mm, newest) > 0)) newest = mm;
  }
  return newest ? `${newest[0]}.${newest[1]}` : null;
}

/** Whether a version's major.minor is older than `newest` (`2.9`). */
export function isBehind(version: string, newest: string | null): boolean {
  if (newest === null) return false;
  const mm = majorMinor(version);
  const n = majorMinor(newest);
  return mm !== null && n !== null && cmpMajorMinor(mm, n) < 0;
}

/** How many clusters have a value. */
export interface Count {
  /** The value; "" for not reported. */
  label: string;
  /** Clusters with it. */
  count: number;
}

/** The clusters by the version they run of one version metric. */
export interface VersionBreakdown {
  /** The version metric. */
  metric: VersionMetric;
  /** What the page calls it. */
  label: string;
  /** Clusters per version as reported, largest first; "" is not reported. */
  counts: Count[];
  /** Clusters that reported this version metric. */
  reporting: number;
  /** The newest major.minor reported (`2.9`), null when none is readable. */
  newest: string | null;
  /** Clusters on an older major.minor than `newest`. */
  behind: number;
}

/** How many clusters use a feature, of how many that said. */
export interface FeatureAdoption {
  /** The feature's key (FEATURES). */
  key: string;
  /** What the page calls it. */
  label: string;
  /** Clusters where the feature is in use. */
  count: number;
  /** Clusters that reported the metric it is read from. */
  of: number;
}

/** One size metric across the clusters that reported it. */
export interface SizeStats {
  /** The size metric. */
  metric: SizeMetric;
  /** What the page calls it. */
  label: string;
  /** What it measures, e.g. "models". */
  unit: string;
  /** One value per reporting cluster, ascending. */
  values: number[];
  /** Their sum. */
  total: number;
}

/** What the overview says of the fleet, from the latest snapshot of each cluster. */
export interface FleetFacts {
  /** The time the facts are of (ms since the epoch). */
  now: number;
  /** Clusters the receiver holds a snapshot of. */
  known: number;
  /** Clusters heard from within the window: the ones the facts below are of. */
  considered: number;
  /** null: every known cluster. */
  windowMs: number | null;
  /** A cluster not heard from for this long (ms) is silent. */
  silentAfterMs: number;
  /** Clusters heard from within 1, 7 and 30 days. */
  active: Array<{ label: string; ms: number; count: number }>;
  /** Considered clusters not heard from within silentAfterMs, most recently heard first. */
  silent: ClusterSnapshot[];
  /** The clusters by version, per version metric. */
  versions: VersionBreakdown[];
  /** Each feature's use. */
  features: FeatureAdoption[];
  /** Clusters per inference server name, most first (as many names as clusters sent). */
  servers: Count[];
  /** Clusters that reported their inference servers. */
  serversReporting: number;
  /** Each size metric across the clusters. */
  sizes: SizeStats[];
}

/** What the fleet facts are taken over. */
export interface FleetOptions {
  /** The time they are of (ms since the epoch). */
  now: number;
  /** Only clusters heard from within this long; null for all. */
  windowMs: number | null;
  /** A cluster not heard from for this long (ms) is silent. */
  silentAfterMs: number;
}

/** The windows the overview counts clusters heard from in: a label and its length (ms). */
const ACTIVE_WINDOWS: ReadonlyArray<[string, number]> = [
  ["last day", DAY_MS],
  ["last 7 days", 7 * DAY_MS],
  ["last 30 days", 30 * DAY_MS],
];

/** Inference server names a cluster reported (`MLServer,Triton`), each once. */
export function serverNames(value: SnapshotValue | undefined): string[] {
  if (typeof value !== "string") return [];
  return [...new Set(value.split(",").map((s) => s.trim()).filter(Boolean))];
}

/** Whether a cluster was heard from within `ms` of `now`. */
export const seenWithin = (
  s: ClusterSnapshot,
  now: number,
  ms: number,
): boolean => s.lastSeenMs >= now - ms;

/** The fleet's facts, of the clusters heard from within the window. */
export function fleetFacts(
  clusters: Iterable<ClusterSnapshot>,
  options: FleetOptions,
): FleetFacts {
  const { now, windowMs, silentAfterMs } = options;
  const all = [...clusters];
  const considered = windowMs === null
    ? all
    : all.filter((s) => seenWithin(s, now, windowMs));

  const versions = VERSION_METRICS.map(([metric, label]) => {
    const byVersion = new Map<string, number>();
    let reporting = 0;
    for (const s of considered) {
      const v = s.values.get(metric);
      const key = typeof v === "string" ? v : "";
      if (key !== "") reporting++;
      byVersion.set(key, (byVersion.get(key) ?? 0) + 1);
    }
    const newest = newestMajorMinor(byVersion.keys());
    let behind = 0;
    for (const [v, n] of byVersion) if (isBehind(v, newest)) behind += n;
    return {
      metric,
      label,
      counts: sortCounts(byVersion),
      reporting,
      newest,
      behind,
    };
  });

  const features = FEATURES.map(({ key, label, test }) => {
    let count = 0;
    let of = 0;
    for (const s of considered) {
      const yes = test(s.values);
      if (yes === undefined) continue;
      of++;
      if (yes) count++;
    }
    return { key, label, count, of };
  });

  const byServer = new Map<string, number>();
  // Clusters mostly report the same few combinations: each is split once.
  const split = new Map<string, string[]>();
  let serversReporting = 0;
  for (const s of considered) {
    const reported = s.values.get("inference_server_name");
    if (typeof reported !== "string") continue;
    serversReporting++;
    let names = split.get(reported);
    if (!names) split.set(reported, names = serverNames(reported));
    for (const name of names) {
      byServer.set(name, (byServer.get(name) ?? 0) + 1);
    }
  }
  const servers = sortCounts(byServer);

  const sizes = SIZE_METRICS.map(([metric, label, unit]) => {
    const found = new Float64Array(considered.length);
    let n = 0;
    let total = 0;
    for (const s of considered) {
      const v = s.values.get(metric);
      if (typeof v === "number" && Number.isFinite(v)) {
        found[n++] = v;
        total += v;
      }
    }
    // A typed array sorts numbers natively, far faster than with a comparator.
    const values = Array.from(found.subarray(0, n).sort());
    return { metric, label, unit, values, total };
  });

  const silent = considered
    .filter((s) => !seenWithin(s, now, silentAfterMs))
    .sort((a, b) => b.lastSeenMs - a.lastSeenMs);

  return {
    now,
    known: all.length,
    considered: considered.length,
    windowMs,
    silentAfterMs,
    active: ACTIVE_WINDOWS.map(([label, ms]) => {
      let count = 0;
      for (const s of all) if (seenWithin(s, now, ms)) count++;
      return { label, ms, count };
    }),
    silent,
    versions,
    features,
    servers,
    serversReporting,
    sizes,
  };
}

function sortCounts(counts: Map<string, number>): Count[] {
  return [...counts].map(([label, count]) => ({ label, count }))
    .sort((a, b) =>
      b.count - a.count || (a.label === "" ? 1 : b.label === "" ? -1 : 0) ||
      compareVersions(b.label, a.label)
    );
}

/** Quartiles, median and largest of values. */
export interface Spread {
  /** The first quartile. */
  q1: number;
  /** The median. */
  median: number;
  /** The third quartile. */
  q3: number;
  /** The largest. */
  max: number;
}

/** Median, quartiles and the largest of ascending values; null when there are none. */
export function spread(values: readonly number[]): Spread | null {
  const max = values.at(-1);
  if (max === undefined) return null;
  return {
    q1: quantile(values, 0.25),
    median: quantile(values, 0.5),
    q3: quantile(values, 0.75),
    max,
  };
}
