// GET /events: what the store holds, by record level. At "none" nothing, at
// "summary" the count, at "all" a page of events as JSON, read from the store
// a few rows at a time as the client reads (a page of old 1 MB events never
// becomes one string), with a link to the next page.

import type { RecordLevel } from "../config/levels.ts";
import {
  type HeaderMap,
  JSON_TYPE,
  jsonAnswer,
  textAnswer,
} from "./answers.ts";
import type { EventStore } from "./store/mod.ts";

/** Events of a page unless `limit` says otherwise. */
export const EVENTS_PAGE = 100;
/** The largest `limit` of a page. */
export const EVENTS_PAGE_MAX = 1000;
/** Rows, and characters of JSON, read from the store per chunk of an /events answer. */
const ROWS_PER_CHUNK = 50;
const CHARS_PER_CHUNK = 256 * 1024;
/** Rows larger than this are checked by their ends only: parsing them would cost more than it tells. */
const PARSED_ROW_CHARS = 64 * 1024;

/** An answer streamed to its reader as it reads (the read side's). */
export type Streamed = (
  chunks: Iterable<string>,
  headers: HeaderMap,
) => Response;

/** The answer to GET /events at `recordLevel`, given the request's query. */
export function listEvents(
  recordLevel: RecordLevel,
  store: EventStore,
  query: string,
  streamed: Streamed,
): Response {
  switch (recordLevel) {
    case "none":
      return jsonAnswer(200, []);
    case "summary":
      return jsonAnswer(200, [{ totalEvents: store.total() }]);
    case "all":
      return pageOfEvents(query, store, streamed);
  }
}

/** What a page's query asks for, or what is wrong with it. */
export type PageQuery =
  | { ok: true; after: number; limit: number; distinctId?: string }
  | { ok: false; problem: string };

/** The page a query string asks for: `cursor`, `limit` and `distinct_id`. */
export function pageQuery(query: string): PageQuery {
  const params = new URLSearchParams(query);
  const limit = wholeNumber(params.get("limit"), 1, EVENTS_PAGE_MAX);
  const cursor = wholeNumber(params.get("cursor"), 0, Number.MAX_SAFE_INTEGER);
  if (limit === null) {
    return {
      ok: false,
      problem: `limit must be a whole number from 1 to ${EVENTS_PAGE_MAX}`,
    };
  }
  if (cursor === null) {
    return {
      ok: false,
      problem: "cursor must be a cursor given by a previous page",
    };
  }
  const distinctId = params.get("distinct_id") ?? undefined;
  return {
    ok: true,
    after: cursor ?? 0,
    limit: limit ?? EVENTS_PAGE,
    distinctId,
  };
}

/** A page of events, with a link to the next when there is one. */
function pageOfEvents(
  query: string,
  store: EventStore,
  streamed: Streamed,
): Response {
  const page = pageQuery(query);
  if (!page.ok) return textAnswer(400, `${page.problem}\n`);
  const { after, limit, distinctId } = page;
  const plan = store.planPage({ after, limit, distinctId });
  const headers: HeaderMap = { "content-type": JSON_TYPE };
  if (plan.more) {
    const next = new URLSearchParams({
      cursor: String(plan.lastId),
      limit: String(limit),
    });
    if (distinctId !== undefined) next.set("distinct_id", distinctId);
    headers["link"] = `</events?${next}>; rel="next"`;
    headers["x-next-cursor"] = String(plan.lastId);
  }
  return streamed(streamRows(store, after, plan.lastId, distinctId), headers);
}

/** The rows (after, upTo] as a JSON array, a few rows at a time. */
export function* streamRows(
  store: EventStore,
  after: number,
  upTo: number,
  distinctId: string | undefined,
): Generator<string> {
  yield "[";
  let first = true;
  for (let from = after; from < upTo;) {
    const rows = store.rows(
      from,
      upTo,
      ROWS_PER_CHUNK,
      distinctId,
      CHARS_PER_CHUNK,
    );
    if (rows.length === 0) break;
    let out = "";
    for (const row of rows) {
      from = row.id;
      if (!isJsonObject(row.properties)) continue; // damaged outside hodometer
      out += `${first ? "" : ","}{"event":${
        JSON.stringify(row.event)
      },"properties":${row.properties},"received_at":${
        JSON.stringify(new Date(row.receivedAtMs).toISOString())
      }}`;
      first = false;
    }
    yield out;
  }
  yield "]";
}

/** Whether a stored row's properties are a JSON object (huge ones: by their ends). */
export function isJsonObject(text: string): boolean {
  // Rows of an older receiver may be huge: parsing them would cost more than it tells.
  if (text.length > PARSED_ROW_CHARS) {
    return text.startsWith("{") && text.endsWith("}");
  }
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** undefined when absent, null when present but not a whole number in range. */
function wholeNumber(
  raw: string | null,
  min: number,
  max: number,
): number | undefined | null {
  if (raw === null) return undefined;
  if (!/^\d{1,16}$/.test(raw.trim())) return null;
  const n = Number(raw.trim());
  return n >= min && n <= max ? n : null;
}
