// The Mixpanel-compatible event of one collection (`collect metrics`, the
// metrics as properties beside token, distinct_id, time, $insert_id and ip),
// and its wire encoding.

import type { Snapshot } from "../metrics/catalogue.ts";
import { encodeBase64 } from "../net/base64.ts";
import { SECOND_MS } from "../runtime/units.ts";

/** The name of hodometer's event, as the reference sends it; a receiver tells hodometer's events from others by it. */
export const EVENT_NAME = "collect metrics";

/** A Mixpanel event, as `/track` takes it. */
export interface TrackEvent {
  /** Always "collect metrics", as the reference names it. */
  event: string;
  /** Mixpanel's own (token, distinct_id, time, $insert_id, ip) and the metrics. */
  properties: Record<string, unknown>;
}

/** What an event is made of. */
export interface EventInput {
  /** The metrics to report, already filtered by level; includes `cluster_id`. */
  snapshot: Snapshot;
  /** The event's distinct_id: Mixpanel counts clusters by it. */
  clusterId: string;
  /** The Mixpanel project token (PUBLISH_TOKEN). */
  token: string;
  /** Collection time in milliseconds since the epoch. */
  timeMs: number;
  /** `$insert_id`: a receiver keeps one event of a re-delivery (see newInsertId). */
  insertId: string;
}

/** A fresh de-duplication id: a random UUID (36 chars of [0-9a-f-]). */
export function newInsertId(): string {
  return crypto.randomUUID();
}

/**
 * The event of one collection: the snapshot's metrics beside Mixpanel's own
 * properties, time in whole seconds, and `ip` "0" so the sender is not
 * geolocated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildEvent, encodeEventData } from "./event.ts";
 *
 * const event = buildEvent({
 *   snapshot: { model_count: 3 },
 *   clusterId: "6f1c9a52-3d1e-4b7e-9a55-0b6c2f9e1d40",
 *   token: "my-project-token",
 *   timeMs: 1_700_000_000_500,
 *   insertId: "2c7e1a3b-8f4d-4c6e-9b1a-5d3e7f9a0c12",
 * });
 * assert.equal(event.properties.time, 1_700_000_000);
 * const data = encodeEventData(event); // what `data=` of /track carries
 * assert.deepEqual(JSON.parse(atob(data)), event);
 * ```
 */
export function buildEvent(input: EventInput): TrackEvent {
  return {
    event: EVENT_NAME,
    properties: {
      token: input.token,
      distinct_id: input.clusterId,
      time: Math.floor(input.timeMs / SECOND_MS),
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
