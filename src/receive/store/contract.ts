// The contract between the receiver's HTTP layer and where events are recorded.

import type { AcceptedEvent, SnapshotValue } from "../event/mod.ts";

export interface AddResult {
  /** Events newly recorded. */
  added: number;
  /** Events recognised as re-deliveries (same distinct_id and $insert_id). */
  duplicates: number;
  /** For each event given: whether it was newly recorded (false for a re-delivery). */
  fresh: boolean[];
}

/** A recorded event as stored: its JSON text and when it was received. */
export interface StoredRow {
  /** Arrival order; the /events cursor. */
  id: number;
  receivedAtMs: number;
  event: string;
  /** The properties as JSON text. */
  properties: string;
}

export interface PageQuery {
  /** Only events after this id (0 for the first page). */
  after: number;
  limit: number;
  distinctId?: string;
}

/** Which rows a page holds: ids in (after, lastId], and whether more follow. */
export interface PagePlan {
  lastId: number;
  count: number;
  more: boolean;
}

/** The catalogue values of one recorded event (of the catalogue's type, strings clipped), for a cluster's page. */
export interface HistoryPoint {
  receivedAtMs: number;
  values: Map<string, SnapshotValue>;
}

/** How many clusters sent at least one of hodometer's events in a UTC day (by when each counts as heard from). */
export interface DayCount {
  /** The day's start, ms since the epoch. */
  dayMs: number;
  clusters: number;
}

/** A cluster's last received event, as read back from a store at start. */
export interface LatestOfCluster {
  distinctId: string;
  receivedAtMs: number;
  /** When it counts as heard from (its seen time, else its receive time). */
  seenAtMs: number;
  /** Its event's own time in seconds; null when absent. */
  time: number | null;
  /** Catalogue properties of that event; only values of bounded size. */
  values: Record<string, unknown>;
}

export interface EventStore {
  /**
   * Records a batch atomically: all or none. The result (or its promise)
   * comes once the batch is durable for this store; a store in memory
   * answers at once.
   */
  add(events: readonly AcceptedEvent[]): AddResult | Promise<AddResult>;
  /** Events recorded so far (the `summary` total). */
  total(): number;
  /** Whether events themselves are kept (RECORD_LEVEL=all). */
  readonly keepsEvents: boolean;
  /** Where events are kept: null when they are not (RECORD_LEVEL none or summary). */
  readonly keptIn: "memory" | "sqlite" | null;
  /** Events held now (0 when events are not kept). */
  held(): number;
  /** Plans a page of recorded events in arrival order. */
  planPage(query: PageQuery): PagePlan;
  /**
   * Rows with ids in (after, upTo] in arrival order: at most `max`, and no
   * more than about `maxChars` characters of JSON (always at least one row).
   */
  rows(
    after: number,
    upTo: number,
    max: number,
    distinctId?: string,
    maxChars?: number,
  ): StoredRow[];
  /** The cluster's most recent events (at most `max`), oldest first. */
  history(distinctId: string, max: number): HistoryPoint[];
  /**
   * Clusters heard from per UTC day, for days from the one holding `sinceMs`,
   * oldest first (days without events left out); null when events are not
   * kept. Bounded by the days asked for, whatever the store holds.
   */
  activeByDay(sinceMs: number): DayCount[] | null;
  /** Deletes events received before `cutoffMs`; resolves to how many. */
  deleteReceivedBefore(cutoffMs: number): Promise<number>;
  close(): void;
}

/** A store refusing a write because too much is waiting to be written: busy, not failing. */
export class StoreBusyError extends Error {
  constructor(what: string) {
    super(`more than ${what} are waiting to be written`);
  }
}
