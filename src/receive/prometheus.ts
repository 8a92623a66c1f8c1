// /metrics in the Prometheus text exposition format 0.0.4: the receiver's own
// counters, and for each cluster its latest snapshot — one gauge per numeric
// metric (booleans as 0/1), the strings as labels of an info metric, and when
// the cluster was last heard from. Pure: renders what it is given.

import { CATALOGUE } from "../metrics/catalogue.ts";
import type {
  ClusterBook,
  ClusterSnapshot,
  SnapshotValue,
} from "./clusters.ts";
import type { RejectKind } from "./decode.ts";

export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

const REJECT_KINDS: Record<RejectKind, true> = {
  no_event: true,
  invalid_event: true,
  too_large: true,
  unsupported_encoding: true,
  unreadable_body: true,
  store_failed: true,
};

export class ReceiverCounters {
  /** Events in /track requests answered 200 (re-deliveries included). */
  received = 0;
  /** Of those, re-deliveries of an event already recorded. */
  duplicates = 0;
  /** /track requests refused, by reason. */
  readonly rejected = Object.fromEntries(
    Object.keys(REJECT_KINDS).map((k) => [k, 0]),
  ) as Record<RejectKind, number>;
}

const PREFIX = "seldon_usage_";
const INFO = `${PREFIX}info`;
const LAST_SEEN = `${PREFIX}last_seen_timestamp_seconds`;
/** Catalogue strings that become labels of the info metric. */
const INFO_LABELS: readonly string[] = CATALOGUE
  .filter((m) => m.type === "string").map((m) => m.name);
const GAUGES = CATALOGUE.filter((m) =>
  m.type === "integer" || m.type === "float" || m.type === "boolean"
);
const CATALOGUE_NAMES = new Set<string>(CATALOGUE.map((m) => m.name));

/** A property name as a valid metric name (only [a-zA-Z0-9_] after the prefix). */
export function metricName(property: string): string {
  return PREFIX + property.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** HELP text escaping: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/**
 * Label value escaping: backslash, double quote and line feed as the format
 * says; other control characters, which parsers treat differently, become
 * U+FFFD.
 */
export function escapeLabel(value: string): string {
  return value
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("\n", "\\n")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "\ufffd");
}

const sampleValue = (value: number | boolean): string =>
  typeof value === "boolean" ? (value ? "1" : "0") : String(value);

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: string[];
}

const labels = (pairs: Array<[string, string]>): string =>
  pairs.length === 0
    ? ""
    : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;

export interface MetricsInput {
  counters: ReceiverCounters;
  clusters: ClusterBook;
}

export function renderMetrics(input: MetricsInput): string {
  const { counters, clusters } = input;
  const families: Family[] = [
    {
      name: "hodometer_receiver_events_received_total",
      help:
        "Events in /track requests answered 200, re-deliveries included (since start).",
      type: "counter",
      samples: [String(counters.received)],
    },
    {
      name: "hodometer_receiver_events_rejected_total",
      help:
        "/track requests refused, by reason; a refused batch counts once (since start).",
      type: "counter",
      samples: Object.entries(counters.rejected).map(([reason, n]) =>
        `${labels([["reason", reason]])} ${n}`
      ),
    },
    {
      name: "hodometer_receiver_events_duplicate_total",
      help:
        "Re-deliveries (same distinct_id and $insert_id) answered 200 and not recorded again (since start).",
      type: "counter",
      samples: [String(counters.duplicates)],
    },
    {
      name: "hodometer_receiver_clusters",
      help: "Clusters whose latest snapshot is held for these metrics.",
      type: "gauge",
      samples: [String(clusters.size)],
    },
    {
      name: "hodometer_receiver_clusters_evicted_total",
      help:
        `Clusters forgotten (least recently seen first) to keep at most ${clusters.maxClusters}.`,
      type: "counter",
      samples: [String(clusters.evicted)],
    },
  ];

  const snapshots = clusters.all();
  const id = (s: ClusterSnapshot) => labels([["cluster_id", s.distinctId]]);
  if (snapshots.length > 0) {
    families.push({
      name: INFO,
      help:
        "Strings of each cluster's latest snapshot, as labels; the value is always 1.",
      type: "gauge",
      samples: snapshots.map((s) => {
        const pairs: Array<[string, string]> = [["cluster_id", s.distinctId]];
        for (const name of INFO_LABELS) {
          const v = s.values.get(name);
          if (typeof v === "string") pairs.push([name, v]);
        }
        return `${labels(pairs)} 1`;
      }),
    });
    families.push({
      name: LAST_SEEN,
      help:
        "When the receiver last received an event of the cluster (Unix time).",
      type: "gauge",
      samples: snapshots.map((s) => `${id(s)} ${s.lastSeenMs / 1000}`),
    });
  }
  for (const def of GAUGES) {
    const samples = snapshots.flatMap((s) => {
      const v = s.values.get(def.name);
      return typeof v === "number" || typeof v === "boolean"
        ? [`${id(s)} ${sampleValue(v)}`]
        : [];
    });
    if (samples.length === 0) continue;
    families.push({
      name: metricName(def.name),
      help: def.type === "boolean"
        ? `${def.description} (1 true, 0 false), from the cluster's latest event.`
        : `${def.description}, from the cluster's latest event.`,
      type: "gauge",
      samples,
    });
  }
  families.push(
    ...extraFamilies(snapshots, new Set(families.map((f) => f.name))),
  );

  return families.map((f) =>
    [
      `# HELP ${f.name} ${escapeHelp(f.help)}`,
      `# TYPE ${f.name} ${f.type}`,
      ...f.samples.map((s) =>
        s.startsWith("{") ? f.name + s : `${f.name} ${s}`
      ),
    ].join("\n")
  ).join("\n") + "\n";
}

/** Numbers and booleans outside the catalogue, under sanitised names that collide with nothing. */
function extraFamilies(
  snapshots: ClusterSnapshot[],
  taken: Set<string>,
): Family[] {
  const byName = new Map<string, string[]>();
  for (const s of snapshots) {
    const mine = new Set<string>();
    for (const [property, value] of s.values) {
      if (CATALOGUE_NAMES.has(property) || typeof value === "string") continue;
      const name = metricName(property);
      if (taken.has(name) || mine.has(name)) continue;
      mine.add(name);
      const sample = `${labels([["cluster_id", s.distinctId]])} ${
        sampleValue(value as Exclude<SnapshotValue, string>)
      }`;
      let samples = byName.get(name);
      if (!samples) byName.set(name, samples = []);
      samples.push(sample);
    }
  }
  return [...byName.keys()].sort().map((name) => ({
    name,
    help:
      "A numeric property of the cluster's latest event that is not in hodometer's catalogue (name sanitised).",
    type: "gauge",
    samples: byName.get(name)!,
  }));
}
