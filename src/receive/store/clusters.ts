// The latest snapshot of each cluster (by distinct_id), for /metrics and the
// overview page: a cache in front of the store, kept at every record level and
// bounded by construction. A snapshot holds only the catalogue's metrics (of the
// type the catalogue says, strings clipped), so its size is bounded; the book
// holds at most `maxClusters` of them and at most `maxBytes` by its own count,
// forgetting the cluster received from longest ago first. "Latest" is the
// event received last: the sender's clock decides nothing here, except for
// history sent to /import, which counts at its own past time
// (event/seen_at.ts) and never replaces a later snapshot. Only hodometer's
// events are clusters.
// Event content is hostile input: nothing of it is trusted beyond its JSON
// type.

import {
  CATALOGUE,
  type MetricDef,
  typeProblem,
} from "../../metrics/catalogue.ts";
import {
  type AcceptedEvent,
  seenAt,
  type SnapshotValue,
} from "../event/mod.ts";
import type { LatestOfCluster } from "./contract.ts";
import { SETTINGS } from "../../config/settings.ts";
import { MiB } from "../../runtime/units.ts";

const CLUSTER_BOOK_BYTES = 16 * MiB;
/** Longest string value kept (versions, server names, commit). */
export const MAX_STRING_LENGTH = 128;

/** A cluster's latest snapshot: what /metrics and the pages show of it. */
export interface ClusterSnapshot {
  /** The cluster. */
  distinctId: string;
  /** When its last event counts as heard from (its receive time, or an imported event's own), ms since the epoch. */
  lastSeenMs: number;
  /** That event's own time in seconds, as its sender said; null when absent. */
  eventTime: number | null;
  /** Catalogue metrics of that event, of the catalogue's type. */
  values: Map<string, SnapshotValue>;
  /** What this snapshot costs, by the book's count. */
  bytes: number;
}

/** The catalogue metrics of an event's properties, of matching type. */
export function snapshotValues(
  properties: Record<string, unknown>,
): Map<string, SnapshotValue> {
  const values = new Map<string, SnapshotValue>();
  for (const def of CATALOGUE) {
    if (!Object.hasOwn(properties, def.name)) continue;
    const kept = ofType(def, properties[def.name]);
    if (kept !== undefined) values.set(def.name, kept);
  }
  return values;
}

/** The value kept of a catalogue metric: of the catalogue's type, strings clipped. */
function ofType(def: MetricDef, value: unknown): SnapshotValue | undefined {
  if (typeProblem(def, value) !== undefined) return undefined;
  const kept = value as SnapshotValue;
  return typeof kept === "string" ? kept.slice(0, MAX_STRING_LENGTH) : kept;
}

/** The book's count of a snapshot's bytes: strings at two bytes a character, the rest by entry. */
function sizeOf(distinctId: string, values: Map<string, SnapshotValue>) {
  let bytes = 200 + 2 * distinctId.length;
  for (const v of values.values()) {
    bytes += 48 + (typeof v === "string" ? 2 * v.length : 0);
  }
  return bytes;
}

/** The bounds of a ClusterBook. */
export interface ClusterBookOptions {
  /** Clusters held at most; MAX_CLUSTERS unless set. */
  maxClusters?: number;
  /** Bytes held at most, by the book's count; 16 MiB unless set. */
  maxBytes?: number;
}

/** Clusters by distinct_id, least recently seen first. */
export class ClusterBook {
  /** Clusters held at most. */
  readonly maxClusters: number;
  /** Bytes held at most, by the book's count. */
  readonly maxBytes: number;
  #clusters = new Map<string, ClusterSnapshot>();
  #bytes = 0;
  #evicted = 0;

  /** An empty book within `options`' bounds. */
  constructor(options: ClusterBookOptions = {}) {
    this.maxClusters = options.maxClusters ?? SETTINGS.maxClusters.default;
    this.maxBytes = options.maxBytes ?? CLUSTER_BOOK_BYTES;
  }

  /**
   * Takes a newly recorded event of hodometer's into account: it is now its
   * cluster's latest, unless it counts as heard from before the latest one
   * (history sent to /import), which it does not replace.
   */
  observe(event: AcceptedEvent, receivedAtMs: number): void {
    const seen = seenAt(event, receivedAtMs);
    const known = this.#clusters.get(event.distinctId);
    if (known !== undefined && seen < known.lastSeenMs) return;
    this.#set(
      event.distinctId,
      seen,
      event.time,
      snapshotValues(event.properties),
    );
  }

  /** Restores from a store's last event per cluster (any order). */
  restore(latest: Iterable<LatestOfCluster>): void {
    const sorted = [...latest].sort((a, b) => a.seenAtMs - b.seenAtMs);
    for (const l of sorted) {
      this.#set(l.distinctId, l.seenAtMs, l.time, snapshotValues(l.values));
    }
  }

  #set(
    distinctId: string,
    lastSeenMs: number,
    eventTime: number | null,
    values: Map<string, SnapshotValue>,
  ) {
    this.#forget(distinctId);
    const bytes = sizeOf(distinctId, values);
    this.#clusters.set(distinctId, {
      distinctId,
      lastSeenMs,
      eventTime,
      values,
      bytes,
    });
    this.#bytes += bytes;
    while (
      this.#clusters.size > this.maxClusters ||
      (this.#bytes > this.maxBytes && this.#clusters.size > 1)
    ) {
      const oldest = this.#clusters.keys().next().value as string;
      this.#forget(oldest);
      this.#evicted++;
    }
  }

  #forget(distinctId: string): boolean {
    const known = this.#clusters.get(distinctId);
    if (!known) return false;
    this.#clusters.delete(distinctId);
    this.#bytes -= known.bytes;
    return true;
  }

  /** Forgets clusters last heard from before `cutoffMs` (retention); returns how many. */
  forgetSeenBefore(cutoffMs: number): number {
    let forgotten = 0;
    // All of them: a cluster imported with a past time is not in seen order.
    for (const [id, s] of this.#clusters) {
      if (s.lastSeenMs >= cutoffMs) continue;
      this.#forget(id);
      forgotten++;
    }
    return forgotten;
  }

  /** Clusters held. */
  get size(): number {
    return this.#clusters.size;
  }

  /** Bytes held, by the book's count. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Clusters forgotten to stay within maxClusters and maxBytes. */
  get evicted(): number {
    return this.#evicted;
  }

  /** The cluster's snapshot; undefined when the book holds none. */
  get(distinctId: string): ClusterSnapshot | undefined {
    return this.#clusters.get(distinctId);
  }

  /** Least recently seen first. */
  values(): IterableIterator<ClusterSnapshot> {
    return this.#clusters.values();
  }

  /** Most recently seen first, at most `max`. */
  recent(max: number): ClusterSnapshot[] {
    const all = [...this.#clusters.values()];
    const out: ClusterSnapshot[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < max; i--) {
      out.push(all[i]!);
    }
    return out;
  }
}
