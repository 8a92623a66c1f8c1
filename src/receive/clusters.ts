// The latest snapshot of each cluster (by distinct_id) that sent events, for
// /metrics and the overview page. Kept at every record level and bounded: at
// most `maxClusters` clusters (the one heard from longest ago is forgotten
// first), and per cluster only the catalogue's metrics plus a few other
// numeric properties, with strings clipped. Event content is hostile input:
// nothing of it is trusted beyond its JSON type.

import { CATALOGUE, type MetricDef } from "../metrics/catalogue.ts";
import type { ReceivedEvent } from "./store.ts";

export const MAX_CLUSTERS = 10_000;
/** Longest distinct_id tracked; longer ones are not clusters hodometer made. */
export const MAX_ID_LENGTH = 256;
/** Longest string value kept. */
export const MAX_STRING_LENGTH = 256;
/** Most properties outside the catalogue kept per cluster. */
export const MAX_EXTRA_PROPERTIES = 50;
/** Longest name of a property outside the catalogue that is kept. */
export const MAX_EXTRA_NAME_LENGTH = 100;

/** Envelope fields of every event; not metrics. */
const ENVELOPE = new Set(["token", "time", "distinct_id", "$insert_id", "ip"]);
const BY_NAME = new Map<string, MetricDef>(CATALOGUE.map((m) => [m.name, m]));

export type SnapshotValue = number | boolean | string;

export interface ClusterSnapshot {
  distinctId: string;
  /** Receive time of the cluster's most recent event, ms since the epoch. */
  lastSeenMs: number;
  /** The `time` property (seconds) of the event the values come from. */
  eventTime: number;
  /** Catalogue metrics of matching type, then up to 50 other numbers/booleans. */
  values: Map<string, SnapshotValue>;
}

/** What an event says about its cluster, within the bounds above. */
export function snapshotValues(
  properties: Record<string, unknown>,
): Map<string, SnapshotValue> {
  const values = new Map<string, SnapshotValue>();
  let extras = 0;
  for (const [name, value] of Object.entries(properties)) {
    if (ENVELOPE.has(name)) continue;
    const def = BY_NAME.get(name);
    if (def) {
      const kept = ofType(def, value);
      if (kept !== undefined) values.set(name, kept);
      continue;
    }
    const numeric = (typeof value === "number" && Number.isFinite(value)) ||
      typeof value === "boolean";
    if (
      numeric && extras < MAX_EXTRA_PROPERTIES &&
      name.length <= MAX_EXTRA_NAME_LENGTH
    ) {
      values.set(name, value);
      extras++;
    }
  }
  return values;
}

function ofType(def: MetricDef, value: unknown): SnapshotValue | undefined {
  switch (def.type) {
    case "integer":
    case "float":
      return typeof value === "number" && Number.isFinite(value)
        ? value
        : undefined;
    case "boolean":
      return typeof value === "boolean" ? value : undefined;
    case "string":
    case "uuid":
      return typeof value === "string"
        ? value.slice(0, MAX_STRING_LENGTH)
        : undefined;
  }
}

export interface ClusterBookOptions {
  maxClusters?: number;
}

/** Clusters by distinct_id, least recently seen first. */
export class ClusterBook {
  readonly maxClusters: number;
  #clusters = new Map<string, ClusterSnapshot>();
  #evicted = 0;

  constructor(options: ClusterBookOptions = {}) {
    this.maxClusters = options.maxClusters ?? MAX_CLUSTERS;
  }

  /**
   * Takes an accepted event into account. The snapshot is that of the event
   * with the greatest `time` (a late re-delivery of an old event does not
   * replace a newer snapshot); last seen is the latest receive time.
   */
  observe(event: ReceivedEvent, receivedAtMs: number): void {
    const id = event.properties.distinct_id;
    const time = event.properties.time;
    if (typeof id !== "string" || id.length > MAX_ID_LENGTH) return;
    if (typeof time !== "number" || !Number.isFinite(time)) return;
    const known = this.#clusters.get(id);
    if (known) {
      this.#clusters.delete(id);
      known.lastSeenMs = Math.max(known.lastSeenMs, receivedAtMs);
      if (time >= known.eventTime) {
        known.eventTime = time;
        known.values = snapshotValues(event.properties);
      }
      this.#clusters.set(id, known);
      return;
    }
    this.#clusters.set(id, {
      distinctId: id,
      lastSeenMs: receivedAtMs,
      eventTime: time,
      values: snapshotValues(event.properties),
    });
    while (this.#clusters.size > this.maxClusters) {
      const oldest = this.#clusters.keys().next().value as string;
      this.#clusters.delete(oldest);
      this.#evicted++;
    }
  }

  /** Restores from a store's newest events per cluster (any order). */
  restore(latest: Iterable<{ event: ReceivedEvent; lastSeenMs: number }>) {
    const sorted = [...latest].sort((a, b) => a.lastSeenMs - b.lastSeenMs);
    for (const { event, lastSeenMs } of sorted) this.observe(event, lastSeenMs);
  }

  get size(): number {
    return this.#clusters.size;
  }

  /** Clusters forgotten to stay within maxClusters. */
  get evicted(): number {
    return this.#evicted;
  }

  get(distinctId: string): ClusterSnapshot | undefined {
    return this.#clusters.get(distinctId);
  }

  /** Least recently seen first. */
  all(): ClusterSnapshot[] {
    return [...this.#clusters.values()];
  }

  /** Most recently seen first, at most `max`. */
  recent(max: number): ClusterSnapshot[] {
    const out: ClusterSnapshot[] = [];
    const all = this.all();
    for (let i = all.length - 1; i >= 0 && out.length < max; i--) {
      out.push(all[i]);
    }
    return out;
  }
}
