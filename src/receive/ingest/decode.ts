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

export type Checked =
  | { ok: true; event: AcceptedEvent }
  | { ok: false; problems: Problem[]; insertId: string | null };

export type Decoded =
  | { ok: true; events: Checked[] }
  | { ok: false; rejection: Rejection };

export interface TrackInput {
  /** The `data` query parameter, form-decoded; null when absent. */
  data: string | null;
  /** The request body, already decompressed; empty when there was none. */
  body: Uint8Array;
  contentType: string | null;
  /** Stands in for a missing `token` property (/import's basic-auth user). */
  fallbackToken?: string;
  limits?: EventLimits;
}

const noEvent = (): Decoded => ({
  ok: false,
  rejection: { status: 400, kind: "no_event", message: NO_EVENT },
});

export const invalid = (detail: string): Decoded => ({
  ok: false,
  rejection: {
    status: 400,
    kind: "invalid_event",
    message: `${UNINTERPRETABLE}: ${detail}`,
  },
});

/** The events of one request (each valid or not), or why there are none. */
export function decodeEvents(input: TrackInput): Decoded {
  const limits = input.limits ?? EVENT_LIMITS;
  const fallback = input.fallbackToken;
  if (input.data !== null) {
    return decodeDataValue(input.data, "data parameter", limits, fallback);
  }
  const text = utf8(input.body);
  if (text === null) return invalid("the body is not valid UTF-8 text");
  if (text.trim() === "") return noEvent();
  const mime = mediaType(input.contentType);
  if (isFormBody(mime, text)) {
    const data = queryParam(text, "data");
    if (data === null) return noEvent();
    return decodeDataValue(data, "form field data", limits, fallback);
  }
  if (mime === "application/x-ndjson" || isNdjson(text)) {
    return parseNdjson(text, limits, fallback);
  }
  return parseEvents(text, "the body", limits, fallback);
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
export function parseEvents(
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
export function parseNdjson(
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
  if (!isObject(value)) {
    return {
      ok: false,
      insertId: null,
      problems: [{
        field: "event",
        message: `an event must be a JSON object, not ${typeName(value)}`,
      }],
    };
  }
  const missing: string[] = [];
  const problems: Problem[] = [];
  const name = value.event;
  if (name === undefined || name === null) {
    missing.push("event");
  } else if (typeof name !== "string") {
    problems.push({
      field: "event",
      message: `event must be a string, not ${typeName(name)}`,
    });
  } else if (name.trim() === "") {
    problems.push({ field: "event", message: "event name is empty" });
  } else if (name.length > limits.maxNameChars) {
    problems.push({
      field: "event",
      message: `event name is longer than ${limits.maxNameChars} characters`,
    });
  }
  let properties: unknown = value.properties;
  let token: unknown;
  let distinctId: unknown;
  let insertId: string | null = null;
  let time: number | null = null;
  if (properties === undefined || properties === null) {
    missing.push("properties");
  } else if (!isObject(properties)) {
    problems.push({
      field: "properties",
      message: `properties must be a non-empty JSON object, not ${
        typeName(properties)
      }`,
    });
  } else {
    token = properties.token;
    if ((token === undefined || token === null) && fallbackToken) {
      token = fallbackToken;
      properties = { ...properties, token };
    }
    distinctId = (properties as Record<string, unknown>).distinct_id;
    nameProblem("token", token, limits, missing, problems);
    nameProblem("distinct_id", distinctId, limits, missing, problems);
    const t = (properties as Record<string, unknown>).time;
    if (t !== undefined && t !== null) {
      if (typeof t !== "number" || !Number.isFinite(t) || t < 0) {
        problems.push({
          field: "properties.time",
          message: `time must be seconds or milliseconds since the epoch, not ${
            typeName(t)
          }`,
        });
      } else {
        time = t > MILLISECONDS_ABOVE ? t / 1000 : t;
      }
    }
    const id = (properties as Record<string, unknown>).$insert_id;
    if (id !== undefined && id !== null) {
      if (typeof id !== "string" || !INSERT_ID.test(id)) {
        problems.push({
          field: "properties.$insert_id",
          message:
            "$insert_id must be 1 to 36 characters of letters, digits and -",
        });
      } else {
        insertId = id;
      }
    }
    for (const key in properties as Record<string, unknown>) {
      if (key.length > limits.maxNameChars) {
        problems.push({
          field: "properties",
          message:
            `a property name is longer than ${limits.maxNameChars} characters`,
        });
        break;
      }
    }
  }
  const [firstMissing] = missing;
  if (firstMissing !== undefined) {
    problems.unshift({
      field: missing.length === 1 && firstMissing !== "event" &&
          firstMissing !== "properties"
        ? `properties.${firstMissing}`
        : firstMissing,
      message: `required fields not provided: ${missing.join(", ")}`,
    });
  }
  if (problems.length > 0) return { ok: false, problems, insertId };
  return {
    ok: true,
    event: {
      event: name as string,
      properties: properties as Record<string, unknown>,
      token: token as string,
      distinctId: distinctId as string,
      insertId,
      time,
    },
  };
}

/** Checks a required string property (token, distinct_id). */
function nameProblem(
  key: string,
  v: unknown,
  limits: EventLimits,
  missing: string[],
  problems: Problem[],
): void {
  if (v === undefined || v === null) missing.push(key);
  else if (typeof v !== "string") {
    problems.push({
      field: `properties.${key}`,
      message: `${key} must be a string, not ${typeName(v)}`,
    });
  } else if (v.length > limits.maxNameChars) {
    problems.push({
      field: `properties.${key}`,
      message: `${key} is longer than ${limits.maxNameChars} characters`,
    });
  }
}

/** The problems of one event as one sentence (the reference's wording first). */
export function describeProblems(problems: readonly Problem[]): string {
  return problems.map((p) => p.message).join("; ");
}

/** A bounded excerpt of client-chosen text, safe for a log line: invisible characters shown as escapes. */
export function excerpt(text: string, max = 200): string {
  return visible(text.length <= max ? text : `${text.slice(0, max)}…`);
}
