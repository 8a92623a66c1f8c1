// /metrics in the Prometheus text exposition format 0.0.4: the receiver's own
// counters, and for each cluster held (at most MAX_CLUSTERS, the most recently
// seen) its latest snapshot: one gauge per numeric catalogue metric (booleans as
// 0/1), the catalogue's strings as labels of an info metric, and when the
// cluster was last heard from. Only the catalogue's metrics are exported: a
// client cannot choose metric names. Rendered as a stream of chunks, so a large
// fleet never becomes one string in memory. Pure: renders what it is given.

import { CATALOGUE } from "../../metrics/catalogue.ts";
import type { ClusterBook, ClusterSnapshot } from "../store/mod.ts";
import type { RejectKind } from "../event/mod.ts";
import { SECOND_MS } from "../../runtime/units.ts";

/** The media type of the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

const REJECT_KINDS: Record<RejectKind, true> = {
  no_event: true,
  invalid_event: true,
  too_large: true,
  unsupported_encoding: true,
  unreadable_body: true,
  invalid_token: true,
  not_recorded: true,
  busy: true,
  body_timeout: true,
  store_failed: true,
};

/**
 * The server's connections, as /metrics shows them: plain figures, which the
 * receiver passes in from its server (views never import the serving layer).
 */
export interface ConnectionFigures {
  /** Connections open now. */
  open: number;
  /** MAX_CONNECTIONS. */
  max: number;
  /** Connections answered 503 because MAX_CONNECTIONS were open (since start). */
  refused: number;
  /** Connections waiting for a request closed to make room (since start). */
  evicted: number;
  /** Connections closed for waiting too long for a request's head, by reason (since start). */
  closed: Readonly<Record<string, number>>;
}

/** The read side's budget, as /metrics shows it: plain figures, passed in. */
export interface ReadFigures {
  /** The limits the budget holds to. */
  limits: Readonly<{ sharedBytes: number; renders: number; readers: number }>;
  /** Bytes of shared renders held now. */
  sharedBytes: number;
  /** Renders being made now. */
  renders: number;
  /** Answers being sent now. */
  readers: number;
  /** Reads answered 503 because a limit was reached, by the limit (since start). */
  refused: Readonly<Record<string, number>>;
}

/** The bytes of request bodies being read or handled, as /metrics shows them. */
export interface BodyFigures {
  /** Bytes held now. */
  readonly bytes: number;
  /** The most they may hold. */
  readonly maxBytes: number;
}

/** What the receiver counts for /metrics, since start. */
export class ReceiverCounters {
  /** Events in requests answered 200 (re-deliveries included). */
  received = 0;
  /** Of those, re-deliveries of an event already recorded. */
  duplicates = 0;
  /** Clusters forgotten by retention. */
  expiredClusters = 0;
  /** Streamed answers given up because their client stopped reading. */
  abandonedAnswers = 0;
  /** Events recorded that are not hodometer's (other Mixpanel events): no cluster's. */
  otherEvents = 0;
  /** The server's connections, once it serves. */
  connections?: () => ConnectionFigures;
  /** Requests refused, by reason. */
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
/**
 * Characters of a chunk of the stream, about: small enough to stay in V8's
 * young generation (collected cheaply), whatever the clusters' labels.
 */
const CHUNK_CHARS = 16 * 1024;

/** A catalogue property name as a metric name. */
export function metricName(property: string): string {
  return PREFIX + property;
}

/** HELP text escaping: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/**
 * A label value that stays distinct for distinct inputs: "%", control
 * characters and lone surrogates are percent-encoded first (so "a\u0001" and
 * "a\u0002" do not both become one series), then backslash and double quote
 * are escaped as the format says.
 */
export function escapeLabel(value: string): string {
  return value
    .replace(
      // deno-lint-ignore no-control-regex
      /[%\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
      (c) => {
        const code = c.charCodeAt(0);
        return code > 0xff
          ? `%u${code.toString(16).toUpperCase()}`
          : `%${code.toString(16).toUpperCase().padStart(2, "0")}`;
      },
    )
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"');
}

const sampleValue = (value: number | boolean): string =>
  typeof value === "boolean" ? (value ? "1" : "0") : String(value);

const labels = (pairs: Array<[string, string]>): string =>
  pairs.length === 0
    ? ""
    : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;

type MetricType = "counter" | "gauge";

const header = (name: string, type: MetricType, help: string) =>
  `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;

/** One of the receiver's own metrics: its header and its one sample. */
const single = (name: string, type: MetricType, help: string, value: number) =>
  header(name, type, help) + `${name} ${value}\n`;

/** A counter with one sample per reason. */
const byReason = (
  name: string,
  help: string,
  counts: Readonly<Record<string, number>>,
) => {
  let out = header(name, "counter", help);
  for (const [reason, n] of Object.entries(counts)) {
    out += `${name}${labels([["reason", reason]])} ${n}\n`;
  }
  return out;
};

function connectionMetrics(stats: ConnectionFigures): string {
  return single(
    "hodometer_receiver_connections_open",
    "gauge",
    `Connections open now (at most ${stats.max}; more are answered 503 and closed).`,
    stats.open,
  ) + single(
    "hodometer_receiver_connections_refused_total",
    "counter",
    "Connections answered 503 and closed because MAX_CONNECTIONS were open, each with a request in flight (since start).",
    stats.refused,
  ) + single(
    "hodometer_receiver_connections_evicted_total",
    "counter",
    "Connections waiting for a request closed, the one waiting longest first, to make room for a new one past MAX_CONNECTIONS (since start).",
    stats.evicted,
  ) + byReason(
    "hodometer_receiver_connections_timed_out_total",
    "Connections closed while waiting for a request's head: a new one past HEADER_TIMEOUT, a kept-alive one past IDLE_TIMEOUT (since start).",
    stats.closed,
  );
}

function readMetrics(stats: ReadFigures): string {
  const { limits } = stats;
  return single(
    "hodometer_receiver_read_shared_bytes",
    "gauge",
    `Bytes of renders shared by readers (/metrics, the pages) held now, compressed copies included (at most ${limits.sharedBytes}).`,
    stats.sharedBytes,
  ) + single(
    "hodometer_receiver_read_renders",
    "gauge",
    `Answers being rendered now (at most ${limits.renders}; 503 past it).`,
    stats.renders,
  ) + single(
    "hodometer_receiver_read_answers",
    "gauge",
    `Answers of the read side being sent now (at most ${limits.readers}; 503 past it).`,
    stats.readers,
  ) + byReason(
    "hodometer_receiver_read_refused_total",
    "Reads answered 503 because the read budget was full, by the limit reached (since start).",
    stats.refused,
  );
}

/** What /metrics shows. */
export interface MetricsInput {
  /** The receiver's counters. */
  counters: ReceiverCounters;
  /** The latest snapshot of each cluster. */
  clusters: ClusterBook;
  /** The bodies being read or handled; absent in tests without one. */
  bodies?: BodyFigures;
  /** The read side's budget; absent in tests without one. */
  reads?: () => ReadFigures;
}

/** The exposition, a chunk at a time. */
export function* renderMetrics(input: MetricsInput): Generator<string> {
  yield receiverMetrics(input);
  yield* clusterMetrics(input.clusters);
}

/**
 * The receiver's own metrics: small, and rendered for each scrape (they
 * change with every request).
 */
export function receiverMetrics(input: MetricsInput): string {
  const { counters, bodies } = input;
  let out = eventMetrics(counters) + clusterBookMetrics(input);
  out += single(
    "hodometer_receiver_answers_abandoned_total",
    "counter",
    "Streamed answers (/events, /metrics, the page) given up because the client read nothing for BODY_TIMEOUT (since start).",
    counters.abandonedAnswers,
  );
  if (bodies) {
    out += single(
      "hodometer_receiver_body_bytes_in_flight",
      "gauge",
      `Bytes of request bodies being read or handled now (at most ${bodies.maxBytes}; 503 past it).`,
      bodies.bytes,
    );
  }
  const connections = counters.connections?.();
  if (connections) out += connectionMetrics(connections);
  const reads = input.reads?.();
  if (reads) out += readMetrics(reads);
  return out;
}

/** The events received, refused, re-delivered and not hodometer's. */
function eventMetrics(counters: ReceiverCounters): string {
  return single(
    "hodometer_receiver_events_received_total",
    "counter",
    "Events in requests answered 200, re-deliveries included (since start).",
    counters.received,
  ) + byReason(
    "hodometer_receiver_events_rejected_total",
    "Requests refused, by reason; a refused batch counts once (since start).",
    counters.rejected,
  ) + single(
    "hodometer_receiver_events_duplicate_total",
    "counter",
    "Re-deliveries (same distinct_id and $insert_id) answered 200 and not recorded again (since start).",
    counters.duplicates,
  ) + single(
    "hodometer_receiver_events_other_total",
    "counter",
    "Events recorded that are not hodometer's (other Mixpanel events than collect metrics): kept, and not counted as clusters (since start).",
    counters.otherEvents,
  );
}

/** The clusters held, and those forgotten. */
function clusterBookMetrics({ counters, clusters }: MetricsInput): string {
  return single(
    "hodometer_receiver_clusters",
    "gauge",
    `Clusters whose latest snapshot is held for these metrics (at most ${clusters.maxClusters}).`,
    clusters.size,
  ) + single(
    "hodometer_receiver_clusters_evicted_total",
    "counter",
    `Clusters forgotten (least recently seen first) to keep at most ${clusters.maxClusters} in at most ${clusters.maxBytes} bytes.`,
    clusters.evicted,
  ) + single(
    "hodometer_receiver_clusters_expired_total",
    "counter",
    "Clusters forgotten because nothing came from them within the retention period (since start).",
    counters.expiredClusters,
  );
}

/**
 * Each cluster's latest snapshot as metric families, a chunk at a time:
 * what changes only with the clusters' state, so a render of it is shared.
 */
export function* clusterMetrics(clusters: ClusterBook): Generator<string> {
  // One list for the whole scrape: a cluster heard from meanwhile moves in
  // the book, and must not appear twice in a family.
  const snapshots = [...clusters.values()];
  if (snapshots.length === 0) return;
  const id = (s: ClusterSnapshot) => labels([["cluster_id", s.distinctId]]);
  yield* family(
    INFO,
    "Strings of each cluster's latest snapshot, as labels; the value is always 1.",
    snapshots,
    (s) => {
      const pairs: Array<[string, string]> = [["cluster_id", s.distinctId]];
      for (const name of INFO_LABELS) {
        const v = s.values.get(name);
        if (typeof v === "string") pairs.push([name, v]);
      }
      return `${INFO}${labels(pairs)} 1\n`;
    },
  );
  yield* family(
    LAST_SEEN,
    "When the receiver last received an event of the cluster (Unix time).",
    snapshots,
    (s) => `${LAST_SEEN}${id(s)} ${s.lastSeenMs / SECOND_MS}\n`,
  );
  for (const def of GAUGES) {
    const name = metricName(def.name);
    if (!snapshots.some((s) => s.values.has(def.name))) continue;
    yield* family(
      name,
      def.type === "boolean"
        ? `${def.description} (1 true, 0 false), from the cluster's latest event.`
        : `${def.description}, from the cluster's latest event.`,
      snapshots,
      (s) => {
        const v = s.values.get(def.name);
        return typeof v === "number" || typeof v === "boolean"
          ? `${name}${id(s)} ${sampleValue(v)}\n`
          : "";
      },
    );
  }
}

function* family(
  name: string,
  help: string,
  snapshots: ClusterSnapshot[],
  line: (s: ClusterSnapshot) => string,
): Generator<string> {
  let out = header(name, "gauge", help);
  for (const snapshot of snapshots) {
    out += line(snapshot);
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = "";
    }
  }
  if (out !== "") yield out;
}

/** The whole exposition as one string (tests, small receivers). */
export function metricsText(input: MetricsInput): string {
  return [...renderMetrics(input)].join("");
}
