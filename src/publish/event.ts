// The Mixpanel-compatible event of one collection (`collect metrics`, the
// metrics as properties beside token, distinct_id, time, $insert_id and ip),
// and its wire encoding.

import type { Snapshot } from "../metrics/catalogue.ts";
import { encodeBase64 } from "../net/base64.ts";

export const EVENT_NAME = "collect metrics";

export interface TrackEvent {
  event: string;
  properties: Record<string, unknown>;
}

export interface EventInput {
  /** The metrics to report, already filtered by level; includes `cluster_id`. */
  snapshot: Snapshot;
  clusterId: string;
  token: string;
  /** Collection time in milliseconds since the epoch. */
  timeMs: number;
  insertId: string;
}

/** A fresh de-duplication id: a random UUID (36 chars of [0-9a-f-]). */
export function newInsertId(): string {
  return crypto.randomUUID();
}

export function buildEvent(input: EventInput): TrackEvent {
  return {
    event: EVENT_NAME,
    properties: {
      token: input.token,
      distinct_id: input.clusterId,
      time: Math.floor(input.timeMs / 1000),
      $insert_id: input.insertId,
      // "0" tells Mixpanel not to geolocate the sender.
      ip: "0",
      ...input.snapshot,
    },
  };
}

/** Standard base64 (with padding) of the event's UTF-8 JSON, as the reference sends it. */
export function encodeEventData(event: TrackEvent): string {
  return encodeBase64(new TextEncoder().encode(JSON.stringify(event)));
}
