// Events for the receiver tests, shaped as hodometer publishes them.

import type { TrackEvent } from "../src/publish/event.ts";
import { validateEvent } from "../src/receive/ingest/decode.ts";
import type { AcceptedEvent } from "../src/receive/event/mod.ts";
import type { EventStore } from "../src/receive/store/mod.ts";
import { captured } from "./assert.ts";

export function sampleEvent(
  n: number,
  extra: Record<string, unknown> = {},
): TrackEvent {
  return {
    event: "collect metrics",
    properties: {
      token: "e943e8a2ebd1352338ecac1f9fde8c7c",
      time: 1795544503 + n,
      distinct_id: "22d36da9-9b3a-42ec-adf7-28ca710e6183",
      $insert_id: `insert-${n}`,
      model_count: n,
      ...extra,
    },
  };
}

/** UTF-8 bytes of a string. */
export const utf8 = (text: string): Uint8Array =>
  new TextEncoder().encode(text);

/** Gzip of some bytes, as a client compresses a body. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const out = new Blob([bytes as BufferSource]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/**
 * The `data` value of the reference publish, copied byte for byte from the
 * shared capture reference-publish.http (GET /track?data=...&verbose=1).
 */
export const REFERENCE_DATA =
  "eyJldmVudCI6ImNvbGxlY3QgbWV0cmljcyIsInByb3BlcnRpZXMiOnsiJGluc2VydF9pZC" +
  "I6IjE3OTU1NDQ1MDM4ODEyNDk1NjEiLCJjbHVzdGVyX2lkIjoiMjJkMzZkYTktOWIzYS00" +
  "MmVjLWFkZjctMjhjYTcxMGU2MTgzIiwiY29sbGVjdG9yX2dpdF9jb21taXQiOiI3Yjc3Zj" +
  "hiNzhlODdmNmQwIiwiY29sbGVjdG9yX3ZlcnNpb24iOiIwLjAuMyIsImRpc3RpbmN0X2lk" +
  "IjoiMjJkMzZkYTktOWIzYS00MmVjLWFkZjctMjhjYTcxMGU2MTgzIiwiZXhwZXJpbWVudF" +
  "9jb3VudCI6MCwiZ3B1X2VuYWJsZWRfY291bnQiOjAsImlwIjoiMCIsImt1YmVybmV0ZXNf" +
  "dmVyc2lvbiI6IiIsIm1vZGVsX2NvdW50IjowLCJtdWx0aW1vZGVsX2VuYWJsZWRfY291bn" +
  "QiOjAsIm92ZXJjb21taXRfZW5hYmxlZF9jb3VudCI6MCwicGlwZWxpbmVfY291bnQiOjAs" +
  "InNlbGRvbl9jb3JlX3ZlcnNpb24iOiIiLCJzZXJ2ZXJfY291bnQiOjAsInNlcnZlcl9jcH" +
  "VfY29yZXNfc3VtIjowLCJzZXJ2ZXJfbWVtb3J5X2diX3N1bSI6MCwic2VydmVyX3JlcGxp" +
  "Y2FfY291bnQiOjAsInRpbWUiOjE3OTU1NDQ1MDMsInRva2VuIjoiZTk0M2U4YTJlYmQxMz" +
  "UyMzM4ZWNhYzFmOWZkZThjN2MifX0=";

/** A TrackEvent as the receiver accepts it (validated), for store tests. */
export function acceptEvent(event: TrackEvent): AcceptedEvent {
  const checked = validateEvent(structuredClone(event));
  if (!checked.ok) {
    throw new Error(`not a valid event: ${JSON.stringify(checked.problems)}`);
  }
  return checked.event;
}

/** sampleEvent(n, extra), accepted. */
export const sampleAccepted = (
  n: number,
  extra: Record<string, unknown> = {},
): AcceptedEvent => acceptEvent(sampleEvent(n, extra));

/** Every recorded event of a store, oldest first, as {event, properties}. */
export function storedEvents(
  store: EventStore,
  distinctId?: string,
): TrackEvent[] {
  return store.rows(0, Number.MAX_SAFE_INTEGER, 1_000_000, distinctId).map((
    r,
  ) => ({ event: r.event, properties: JSON.parse(r.properties) }));
}

/** The $insert_id of each event. */
export const ids = (events: { properties: Record<string, unknown> }[]) =>
  events.map((e) => e.properties["$insert_id"]);

/** Every event of a receiver's /events, page after page (RECORD_LEVEL=all). */
export async function fetchAllEvents(
  baseUrl: string,
  headers: Record<string, string> = {},
): Promise<Array<TrackEvent & { received_at: string }>> {
  const out: Array<TrackEvent & { received_at: string }> = [];
  let next: string | null = "/events?limit=1000";
  for (let pages = 0; next !== null; pages++) {
    if (pages > 10_000) throw new Error("/events never ends");
    const res: Response = await fetch(baseUrl + next, { headers });
    if (res.status !== 200) {
      throw new Error(`/events: ${res.status} ${await res.text()}`);
    }
    out.push(...await res.json());
    const link = res.headers.get("link");
    next = link === null ? null : captured(/^<([^>]+)>; rel="next"$/, link);
  }
  return out;
}
