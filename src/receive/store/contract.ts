// The contract between the receiver's HTTP layer and where events are
// recorded: what a store promises, whichever it is.

import type { AcceptedEvent, SnapshotValue } from "../event/mod.ts";

/** What a store did with a batch given to add(). */
export interface AddResult {
  /** Events newly recorded. */
  added: number;
  /**
   * Events recognised as re-deliveries: the same distinct_id and $insert_id
   * as an event recorded before (in an earlier batch or the same one). A
   * store recognises one while it remembers the event: the memory store
   * within its de-duplication window (even once the event itself is dropped
   * or deleted), the SQLite store while the event is in the database. An
   * event without $insert_id is never one.
   */
  duplicates: number;
  /** For each event given: whether it was newly recorded (false for a re-delivery). */
  fresh: boolean[];
}

/** A recorded event as stored: its JSON text and when it was received. */
export interface StoredRow {
  /** Arrival order; the /events cursor. */
  id: number;
  /** When the store received it, ms since the epoch (the store's clock). */
  receivedAtMs: number;
  /** Its name. */
  event: string;
  /** The properties as JSON text. */
  properties: string;
}

/** Which page of recorded events to plan. */
export interface PageQuery {
  /** Only events after this id (0 for the first page). */
  after: number;
  /** Events in the page at most. */
  limit: number;
  /** Only this cluster's events, when set. */
  distinctId?: string;
}

/** Which rows a page holds: ids in (after, lastId], and whether more follow. */
export interface PagePlan {
  /** The id of the page's last event; `after` when the page is empty. */
  lastId: number;
  /** Events in the page. */
  count: number;
  /** Whether events (of the cluster asked for) follow the page. */
  more: boolean;
}

/** The catalogue values of one recorded event (of the catalogue's type, strings clipped), for a cluster's page. */
export interface HistoryPoint {
  /** When the event was received, ms since the epoch. */
  receivedAtMs: number;
  /** Its catalogue metrics by name. */
  values: Map<string, SnapshotValue>;
}

/** How many clusters sent at least one of hodometer's events in a UTC day (by when each counts as heard from). */
export interface DayCount {
  /** The day's start, ms since the epoch. */
  dayMs: number;
  /** Clusters heard from that day. */
  clusters: number;
}

/** A cluster's last received event, as read back from a store at start. */
export interface LatestOfCluster {
  /** The cluster. */
  distinctId: string;
  /** When its last event was received, ms since the epoch. */
  receivedAtMs: number;
  /** When it counts as heard from (its seen time, else its receive time). */
  seenAtMs: number;
  /** Its event's own time in seconds; null when absent. */
  time: number | null;
  /** Catalogue properties of that event; only values of bounded size. */
  values: Record<string, unknown>;
}

/**
 * Where the receiver records accepted events and reads them back: the memory
 * store (every record level) and the SQLite store (RECORD_LEVEL=all). What
 * each promises is tested once for all by tests/store_contract.ts.
 */
export interface EventStore {
  /**
   * Records a batch atomically: all or none. The result (or its promise)
   * comes once the batch is durable for this store; a store in memory
   * answers at once. A refusal is thrown by a store that answers at once and
   * rejected by one that answers later (await either): a closed store's, a
   * busy one's (StoreBusyError) or a failed write's.
   */
  add(events: readonly AcceptedEvent[]): AddResult | Promise<AddResult>;
  /**
   * Events recorded (the `summary` total), re-deliveries not counted: for
   * the memory store, since start (those dropped from its ring or deleted by
   * retention still count); for the SQLite store, those in the database
   * (across restarts, and fewer after retention).
   */
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
  /** Closes the store, once what waits to be written is written; add() refuses after. */
  close(): void;
}

/** A store refusing a write because too much is waiting to be written: busy, not failing. */
export class StoreBusyError extends Error {
  /** Says that more than `what` (such as "10000 events") are waiting. */
  constructor(what: string) {
    super(`more than ${what} are waiting to be written`);
  }
}
