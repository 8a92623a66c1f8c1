// Turning what a client sent to /track into validated events (SPEC §7): the
// `data` parameter in either base64 alphabet, a JSON body, a form body
// `data=...`, or a JSON array (batch). Pure: no I/O, errors as values.

import type { ReceivedEvent } from "./store.ts";

export const NO_EVENT = "no event provided";
export const UNINTERPRETABLE = "unable to interpret request as an event";

export const MAX_BATCH = 2000;
/** Deepest nesting allowed inside `properties`; keeps every later step (JSON, SQL, HTML) shallow. */
export const MAX_DEPTH = 64;
export const REQUIRED_PROPERTIES = [
  "token",
  "time",
  "distinct_id",
  "$insert_id",
] as const;

/** Why a request was refused; a short label for counters and logs. */
export type RejectKind =
  | "no_event"
  | "invalid_event"
  | "too_large"
  | "unsupported_encoding"
  | "unreadable_body"
  | "store_failed";

export interface Rejection {
  status: 400 | 413 | 415 | 503;
  kind: RejectKind;
  /** What the client is told: starts with the reference's message where there is one. */
  message: string;
}

export type Decoded =
  | { ok: true; events: ReceivedEvent[] }
  | { ok: false; rejection: Rejection };

export interface TrackInput {
  /** The `data` query parameter as URLSearchParams decoded it; null when absent. */
  data: string | null;
  /** The request body, already decompressed; empty when there was none. */
  body: Uint8Array;
  contentType: string | null;
  maxBatch?: number;
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

/** The events of one /track request, or why there are none. */
export function decodeTrackRequest(input: TrackInput): Decoded {
  const maxBatch = input.maxBatch ?? MAX_BATCH;
  if (input.data !== null) {
    return decodeDataValue(input.data, "data parameter", maxBatch);
  }
  const text = utf8(input.body);
  if (text === null) return invalid("the body is not valid UTF-8 text");
  if (text.trim() === "") return noEvent();
  if (isFormBody(input.contentType, text)) {
    const data = new URLSearchParams(text).get("data");
    if (data === null) return noEvent();
    return decodeDataValue(data, "form field data", maxBatch);
  }
  return parseEvents(text, "body", maxBatch);
}

function isFormBody(contentType: string | null, text: string): boolean {
  const mime = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (mime === "application/x-www-form-urlencoded") return true;
  // Some clients post the form without a content type.
  return mime !== "application/json" && text.startsWith("data=");
}

/** A `data` value: base64 of JSON as Mixpanel defines it, or plain JSON. */
function decodeDataValue(
  value: string,
  what: string,
  maxBatch: number,
): Decoded {
  const trimmed = value.trim();
  if (trimmed === "") return invalid(`the ${what} is empty`);
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    return parseEvents(trimmed, what, maxBatch);
  }
  const bytes = decodeBase64(trimmed);
  if (bytes === null) {
    return invalid(
      `the ${what} is not valid base64 (standard or URL-safe alphabet)`,
    );
  }
  const text = utf8(bytes);
  if (text === null) return invalid(`the ${what} is not valid UTF-8 text`);
  return parseEvents(text, what, maxBatch);
}

/**
 * Base64 in the standard or URL-safe alphabet (or a mix), padded or not, with
 * any `+` that query decoding turned into a space restored. Null if invalid.
 */
export function decodeBase64(value: string): Uint8Array | null {
  let s = value.replaceAll(" ", "+").replaceAll("-", "+").replaceAll("_", "/");
  s = s.replace(/={1,2}$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  s += "=".repeat((4 - (s.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(s);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function utf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      bytes,
    );
  } catch {
    return null;
  }
}

/** One event (a JSON object) or a batch (a JSON array of them). */
export function parseEvents(
  text: string,
  what: string,
  maxBatch = MAX_BATCH,
): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return invalid(`the ${what} is not valid JSON: ${clip(reason, 120)}`);
  }
  if (!Array.isArray(value)) {
    const checked = validateEvent(value);
    return checked.ok ? { ok: true, events: [checked.event] } : invalid(
      checked.problems.join("; "),
    );
  }
  if (value.length === 0) return noEvent();
  if (value.length > maxBatch) {
    return invalid(
      `a batch holds at most ${maxBatch} events; this one has ${value.length}`,
    );
  }
  const events: ReceivedEvent[] = [];
  for (let i = 0; i < value.length; i++) {
    const checked = validateEvent(value[i]);
    if (!checked.ok) {
      return invalid(
        `event ${i} of the batch (counting from 0): ${
          checked.problems.join("; ")
        }; no event of this batch was recorded`,
      );
    }
    events.push(checked.event);
  }
  return { ok: true, events };
}

export type Checked =
  | { ok: true; event: ReceivedEvent }
  | { ok: false; problems: string[] };

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

const PROPERTY_TYPES: Record<
  typeof REQUIRED_PROPERTIES[number],
  { ok: (v: unknown) => boolean; expected: string }
> = {
  token: { ok: (v) => typeof v === "string", expected: "a string" },
  time: { ok: (v) => Number.isInteger(v), expected: "an integer" },
  distinct_id: { ok: (v) => typeof v === "string", expected: "a string" },
  $insert_id: { ok: (v) => typeof v === "string", expected: "a string" },
};

/** SPEC §7's rules for one event; every problem is named, none of the values echoed. */
export function validateEvent(value: unknown): Checked {
  if (!isObject(value)) {
    return {
      ok: false,
      problems: [`an event must be a JSON object, not ${typeName(value)}`],
    };
  }
  const missing: string[] = [];
  const problems: string[] = [];
  const name = value.event;
  if (name === undefined || name === null) {
    missing.push("event");
  } else if (typeof name !== "string") {
    problems.push(`event must be a string, not ${typeName(name)}`);
  } else if (name.trim() === "") {
    problems.push("event name is empty");
  }
  const properties = value.properties;
  if (properties === undefined || properties === null) {
    missing.push("properties");
  } else if (!isObject(properties)) {
    problems.push(
      `properties must be a non-empty JSON object, not ${typeName(properties)}`,
    );
  } else {
    for (const key of REQUIRED_PROPERTIES) {
      if (!Object.hasOwn(properties, key) || properties[key] === null) {
        missing.push(key);
      } else if (!PROPERTY_TYPES[key].ok(properties[key])) {
        problems.push(
          `${key} must be ${PROPERTY_TYPES[key].expected}, not ${
            typeName(properties[key])
          }`,
        );
      }
    }
    if (exceedsDepth(properties, MAX_DEPTH)) {
      problems.push(`properties are nested deeper than ${MAX_DEPTH} levels`);
    }
  }
  if (missing.length > 0) {
    problems.unshift(`required fields not provided: ${missing.join(", ")}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    event: {
      event: name as string,
      properties: properties as Record<string, unknown>,
    },
  };
}

/** Whether a JSON value nests deeper than `max`; iterative, so any depth is safe. */
export function exceedsDepth(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (depth > max) return true;
    const children = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) stack.push([child, depth + 1]);
  }
  return false;
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
