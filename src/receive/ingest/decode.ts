// Turning what a client sent to /track or /import into validated events: the
// `data` parameter (base64 of JSON in either alphabet, or plain JSON), a JSON
// body, a form body `data=...`, a JSON array (batch), or newline-delimited JSON
// (/import). Every event is checked against the limits before it is kept: the
// JSON's shape before it is parsed, its fields after. Pure: no I/O, errors as
// values, and no value of the input is ever echoed in a message.

import { decodeFormBase64 } from "../../net/base64.ts";
import {
  type AcceptedEvent,
  EVENT_LIMITS,
  type EventLimits,
  INSERT_ID,
  MILLISECONDS_ABOVE,
  NO_EVENT,
  type Problem,
  type Rejection,
  UNINTERPRETABLE,
  visible,
} from "../event/mod.ts";
import { checkParsedEvent, scanEvents } from "./json_scan.ts";
import { queryParam } from "./query.ts";
import { SECOND_MS } from "../../runtime/units.ts";

/** One event checked: accepted, or its problems (and its $insert_id if it had a valid one, for Mixpanel's per-event answer). */
export type Checked =
  | { ok: true; event: AcceptedEvent }
  | { ok: false; problems: Problem[]; insertId: string | null };

/**
 * The events of one request, each checked, and whether they came in Mixpanel's
 * shape (a `data` parameter or form field) rather than the reference's (a bare
 * JSON body); or why the request as a whole is refused.
 */
export type Decoded =
  | { ok: true; events: Checked[]; viaData?: true }
  | { ok: false; rejection: Rejection };

/** What decodeEvents reads of a request to /track or /import. */
export interface TrackInput {
  /** The `data` query parameter, form-decoded; null when absent. */
  data: string | null;
  /** The request body, already decompressed; empty when there was none. */
  body: Uint8Array;
  /** The Content-Type header; null when absent. */
  contentType: string | null;
  /** Stands in for a missing `token` property (/import's basic-auth user). */
  fallbackToken?: string;
  /** EVENT_LIMITS unless set. */
  limits?: EventLimits;
}

const noEvent = (): Decoded => ({
  ok: false,
  rejection: { status: 400, kind: "no_event", message: NO_EVENT },
});

/** A request refused 400 as uninterpretable, the reference's words followed by `detail`. */
export const invalid = (detail: string): Decoded => ({
  ok: false,
  rejection: {
    status: 400,
    kind: "invalid_event",
    message: `${UNINTERPRETABLE}: ${detail}`,
  },
});

/**
 * The events of one request (each valid or not), or why there are none: the
 * `data` parameter when there is one, else the body as JSON (one event or an
 * array), a form with `data`, or newline-delimited JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeEvents } from "./mod.ts";
 *
 * const event = {
 *   event: "collect metrics",
 *   properties: { token: "t", distinct_id: "cluster-1", time: 1795544503 },
 * };
 * const data = btoa(JSON.stringify(event)); // as the agent sends it
 * const decoded = decodeEvents({
 *   data,
 *   body: new Uint8Array(),
 *   contentType: null,
 * });
 * assert.ok(decoded.ok);
 * const [checked] = decoded.events;
 * assert.ok(checked?.ok);
 * assert.equal(checked.event.distinctId, "cluster-1");
 *
 * // An event without distinct_id is refused, naming what is missing.
 * const body = new TextEncoder().encode('{"event":"x","properties":{"token":"t"}}');
 * const refused = decodeEvents({ data: null, body, contentType: null });
 * assert.ok(refused.ok);
 * const [bad] = refused.events;
 * assert.ok(bad !== undefined && !bad.ok);
 * assert.deepEqual(bad.problems.map((p) => p.message), [
 *   "required fields not provided: distinct_id",
 * ]);
 * ```
 */
export function decodeEvents(input: TrackInput): Decoded {
  const limits = input.limits ?? EVENT_LIMITS;
  const fallback = input.fallbackToken;
  if (input.data !== null) {
    return viaData(
      decodeDataValue(input.data, "data parameter", limits, fallback),
    );
  }
  const text = utf8(input.body);
  if (text === null) return invalid("the body is not valid UTF-8 text");
  if (text.trim() === "") return noEvent();
  const mime = mediaType(input.contentType);
  if (isFormBody(mime, text)) {
    const data = queryParam(text, "data");
    if (data === null) return noEvent();
    return viaData(decodeDataValue(data, "form field data", limits, fallback));
  }
  if (mime === "application/x-ndjson" || isNdjson(text)) {
    return parseNdjson(text, limits, fallback);
  }
  return parseEvents(text, "the body", limits, fallback);
}

function viaData(decoded: Decoded): Decoded {
  if (decoded.ok) decoded.viaData = true;
  return decoded;
}

/** The media type of a Content-Type header (`text/plain; charset=x` → `text/plain`). */
export function mediaType(contentType: string | null): string {
  const header = contentType ?? "";
  const end = header.indexOf(";");
  return (end < 0 ? header : header.slice(0, end)).trim().toLowerCase();
}

function isFormBody(mime: string, text: string): boolean {
  // JSON is JSON whatever the content type says, as Seldon's Go receiver
  // reads a body: `curl -d '{"event":…}'` sends it as a form.
  const first = firstChar(text);
  if (first === "{" || first === "[") return false;
  if (mime === "application/x-www-form-urlencoded") return true;
  // Some clients post the form without a content type.
  return mime !== "application/json" && text.startsWith("data=");
}

/**
 * More than one line that starts an object: newline-delimited JSON. One pass:
 * the regular expression it replaces (`/\}\s*\n\s*\{/`) backtracks over every
 * newline after a "}", minutes of CPU for a megabyte of them.
 */
export function isNdjson(text: string): boolean {
  if (!text.trimStart().startsWith("{")) return false;
  let afterClose = false; // only white space since a "}"
  let newline = false; // and a line break among it
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === CLOSE) {
      afterClose = true;
      newline = false;
    } else if (c === OPEN) {
      if (afterClose && newline) return true;
      afterClose = false;
    } else if (c === NEWLINE) {
      newline = true;
    } else if (!isSpace(c)) {
      afterClose = false;
    }
  }
  return false;
}

const OPEN = 123;
const CLOSE = 125;
const NEWLINE = 10;

/** What `\s` matches in a JavaScript regular expression. */
function isSpace(c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** A `data` value: base64 of JSON as Mixpanel defines it, or plain JSON. */
function decodeDataValue(
  value: string,
  what: string,
  limits: EventLimits,
  fallback: string | undefined,
): Decoded {
  const trimmed = value.trim();
  if (trimmed === "") return invalid(`the ${what} is empty`);
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    return parseEvents(trimmed, `the ${what}`, limits, fallback);
  }
  const bytes = decodeFormBase64(trimmed);
  if (bytes === null) {
    return invalid(
      `the ${what} is not valid base64 (standard or URL-safe alphabet)`,
    );
  }
  const text = utf8(bytes);
  if (text === null) return invalid(`the ${what} is not valid UTF-8 text`);
  return parseEvents(text, `the ${what}`, limits, fallback);
}

const looseUtf8 = new TextDecoder("utf-8");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The text of UTF-8 bytes; null when they are not valid UTF-8. */
function utf8(bytes: Uint8Array): string | null {
  // The lenient decoder is the fast one; only a replacement character in its
  // result can mean invalid input, and then the strict one decides.
  const text = looseUtf8.decode(bytes);
  if (!text.includes("\ufffd")) return text;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** One event (a JSON object) or a batch (a JSON array of them). */
function parseEvents(
  text: string,
  what: string,
  limits: EventLimits = EVENT_LIMITS,
  fallback?: string,
): Decoded {
  // A single small event is parsed first and checked after (see json_scan.ts).
  const small = text.length <= limits.maxEventChars && firstChar(text) === "{";
  if (!small) {
    const over = scanEvents(text, limits);
    if (over !== null) return invalid(over);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid(`${what} is not valid JSON`);
  }
  if (!Array.isArray(value)) {
    if (small && isObject(value)) {
      const over = checkParsedEvent(value, limits);
      if (over !== null) return invalid(over);
    }
    return { ok: true, events: [validateEvent(value, limits, fallback)] };
  }
  if (value.length === 0) return noEvent();
  return {
    ok: true,
    events: value.map((v) => validateEvent(v, limits, fallback)),
  };
}

function firstChar(text: string): string {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  return text.charAt(i);
}

/** Newline-delimited JSON: one event per non-blank line. */
function parseNdjson(
  text: string,
  limits: EventLimits = EVENT_LIMITS,
  fallback?: string,
): Decoded {
  const events: Checked[] = [];
  // Line by line without splitting: a megabyte of blank lines makes no array.
  for (let start = 0, n = 1; start < text.length; n++) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === "") continue;
    if (events.length === limits.maxBatch) {
      return invalid(
        `a batch holds at most ${limits.maxBatch} events; this one has more`,
      );
    }
    const at = `line ${n}`;
    if (!line.startsWith("{")) {
      return invalid(`${at}: an event must be a JSON object`);
    }
    const parsed = parseEvents(line, at, limits, fallback);
    if (!parsed.ok) {
      const detail = parsed.rejection.message.slice(UNINTERPRETABLE.length + 2);
      return invalid(detail.startsWith(at) ? detail : `${at}: ${detail}`);
    }
    events.push(...parsed.events);
  }
  return events.length === 0 ? noEvent() : { ok: true, events };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const typeName = (v: unknown): string =>
  v === null
    ? "null"
    : Array.isArray(v)
    ? "an array"
    : typeof v === "number" && !Number.isInteger(v)
    ? "a fractional number"
    : typeof v;

/**
 * One event by Mixpanel's rules: a non-empty `event` name; `properties` with
 * `token` and `distinct_id` strings; `time` (seconds or milliseconds) and
 * `$insert_id` optional. Every problem is named; no value is echoed.
 */
export function validateEvent(
  value: unknown,
  limits: EventLimits = EVENT_LIMITS,
  fallbackToken?: string,
): Checked {
  if (!isObject(value)) return notAnObject(value);
  const missing: string[] = [];
  const problems: Problem[] = [];
  checkEventName(value.event, limits, missing, problems);
  const read = readProperties(value, limits, fallbackToken, missing, problems);
  if (missing.length > 0) problems.unshift(missingFields(missing));
  if (read === null || problems.length > 0) {
    return { ok: false, problems, insertId: read?.insertId ?? null };
  }
  return { ok: true, event: read };
}

/** The answer for a value that is not an event object at all. */
function notAnObject(value: unknown): Checked {
  return {
    ok: false,
    insertId: null,
    problems: [{
      field: "event",
      message: `an event must be a JSON object, not ${typeName(value)}`,
    }],
  };
}

// The checks below are each a test that an ordinary event passes at once and
// a function apart for what is wrong with it: validateEvent runs on every
// event received, and V8 inlines it whole only while the code of the checks
// it runs is small.

/** Checks the event's name: present, a string, not blank, not too long. */
function checkEventName(
  name: unknown,
  limits: EventLimits,
  missing: string[],
  problems: Problem[],
): void {
  if (
    typeof name === "string" && name.length <= limits.maxNameChars &&
    name.trim() !== ""
  ) return;
  if (name === undefined || name === null) missing.push("event");
  else problems.push(eventNameProblem(name, limits));
}

/** What is wrong with an event name that is there. */
function eventNameProblem(name: unknown, limits: EventLimits): Problem {
  const message = typeof name !== "string"
    ? `event must be a string, not ${typeName(name)}`
    : name.trim() === ""
    ? "event name is empty"
    : `event name is longer than ${limits.maxNameChars} characters`;
  return { field: "event", message };
}

/**
 * Reads and checks the event's `properties`: token (or the fallback),
 * distinct_id, time, $insert_id and the length of property names. The event
 * as read, an accepted one only when no problem was found; null when there
 * are no properties to read (missing, or not an object), which is said.
 */
function readProperties(
  event: Record<string, unknown>,
  limits: EventLimits,
  fallbackToken: string | undefined,
  missing: string[],
  problems: Problem[],
): AcceptedEvent | null {
  const value = event.properties;
  if (!isObject(value)) {
    if (value === undefined || value === null) missing.push("properties");
    else problems.push(propertiesProblem(value));
    return null;
  }
  let properties = value;
  let token = properties.token;
  if ((token === undefined || token === null) && fallbackToken) {
    token = fallbackToken;
    properties = { ...properties, token };
  }
  const distinctId = properties.distinct_id;
  checkName("token", token, limits, missing, problems);
  checkName("distinct_id", distinctId, limits, missing, problems);
  const time = eventTime(properties.time, problems);
  const insertId = insertIdOf(properties.$insert_id, problems);
  checkPropertyNames(properties, limits, problems);
  // Of these types once nothing was found wrong (the caller's to see).
  return {
    event: event.event as string,
    properties,
    token: token as string,
    distinctId: distinctId as string,
    insertId,
    time,
  };
}

/** What is wrong with `properties` that are there but not an object. */
function propertiesProblem(properties: unknown): Problem {
  return {
    field: "properties",
    message: `properties must be a non-empty JSON object, not ${
      typeName(properties)
    }`,
  };
}

/** Checks a required string property (token, distinct_id). */
function checkName(
  key: string,
  v: unknown,
  limits: EventLimits,
  missing: string[],
  problems: Problem[],
): void {
  if (typeof v === "string" && v.length <= limits.maxNameChars) return;
  if (v === undefined || v === null) missing.push(key);
  else problems.push(nameProblem(key, v, limits));
}

/** What is wrong with a required string property that is there. */
function nameProblem(key: string, v: unknown, limits: EventLimits): Problem {
  return {
    field: `properties.${key}`,
    message: typeof v !== "string"
      ? `${key} must be a string, not ${typeName(v)}`
      : `${key} is longer than ${limits.maxNameChars} characters`,
  };
}

/** `time` in seconds (milliseconds converted); null when absent or wrong (said). */
function eventTime(t: unknown, problems: Problem[]): number | null {
  if (typeof t === "number" && Number.isFinite(t) && t >= 0) {
    return t > MILLISECONDS_ABOVE ? t / SECOND_MS : t;
  }
  if (t !== undefined && t !== null) problems.push(timeProblem(t));
  return null;
}

/** What is wrong with a `time` that is there. */
function timeProblem(t: unknown): Problem {
  return {
    field: "properties.time",
    message: `time must be seconds or milliseconds since the epoch, not ${
      typeName(t)
    }`,
  };
}

/** `$insert_id` by Mixpanel's rule; null when absent or wrong (said). */
function insertIdOf(id: unknown, problems: Problem[]): string | null {
  if (typeof id === "string" && INSERT_ID.test(id)) return id;
  if (id !== undefined && id !== null) problems.push(INSERT_ID_PROBLEM);
  return null;
}

const INSERT_ID_PROBLEM: Readonly<Problem> = {
  field: "properties.$insert_id",
  message: "$insert_id must be 1 to 36 characters of letters, digits and -",
};

/** Says when a property name is longer than the limit (once). */
function checkPropertyNames(
  properties: Record<string, unknown>,
  limits: EventLimits,
  problems: Problem[],
): void {
  for (const key in properties) {
    if (key.length > limits.maxNameChars) {
      problems.push(longPropertyName(limits));
      return;
    }
  }
}

/** The problem of a property name longer than the limit. */
function longPropertyName(limits: EventLimits): Problem {
  return {
    field: "properties",
    message: `a property name is longer than ${limits.maxNameChars} characters`,
  };
}

/** The reference's problem for required fields not provided, first of all. */
function missingFields(missing: readonly string[]): Problem {
  const [only] = missing;
  const inProperties = missing.length === 1 && only !== "event" &&
    only !== "properties";
  return {
    field: inProperties ? `properties.${only}` : only!,
    message: `required fields not provided: ${missing.join(", ")}`,
  };
}

/** The problems of one event as one sentence (the reference's wording first). */
export function describeProblems(problems: readonly Problem[]): string {
  return problems.map((p) => p.message).join("; ");
}

/** A bounded excerpt of client-chosen text, safe for a log line: invisible characters shown as escapes. */
export function excerpt(text: string, max = 200): string {
  return visible(text.length <= max ? text : `${text.slice(0, max)}…`);
}
