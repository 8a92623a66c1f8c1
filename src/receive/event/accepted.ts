// The event the receiver accepted, as every layer of it reads one: what
// ingestion hands on, the stores record and the views show.

/** A catalogue metric's value as a cluster's snapshot keeps it. */
export type SnapshotValue = number | boolean | string;

/** An event that passed every check, with the fields the receiver reads. */
export interface AcceptedEvent {
  /** Its name: `collect metrics` for hodometer's, anything for another Mixpanel client's. */
  event: string;
  /** As the client sent them (a missing token filled in from /import's credentials). */
  properties: Record<string, unknown>;
  /** The project token it was sent with (`properties.token`). */
  token: string;
  /** Who sent it (`properties.distinct_id`): a cluster, for hodometer's events. */
  distinctId: string;
  /** Null when the client sent none: then nothing can be de-duplicated against it. */
  insertId: string | null;
  /** The event's own `time` in seconds (milliseconds converted); null when absent. */
  time: number | null;
  /**
   * When it counts as heard from (ms), when not when it is received: an
   * event imported (/import) with a time in the past (seen_at.ts).
   */
  seenAtMs?: number;
}
