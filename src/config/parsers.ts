// Pure value parsers for settings. Each returns the parsed value or an error
// string saying what is accepted; none of them touches the environment.

import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from "../runtime/units.ts";

/** A setting's value as read from its text, or what it should have been. */
export type Parsed<T> =
  /** `warning`: the value is used, but the operator should hear about it. */
  | { ok: true; value: T; warning?: string }
  | { ok: false; accepted: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(accepted: string): Parsed<T> => ({ ok: false, accepted });

/**
 * A parser for one of `choices`, case-insensitive; `aliases` maps other
 * words to a choice (`warn` → `warning`), and the error lists both.
 */
export function parseChoice<T extends string>(
  choices: readonly T[],
  aliases: Record<string, T> = {},
): (raw: string) => Parsed<T> {
  return (raw) => {
    const v = raw.trim().toLowerCase();
    const hit = choices.find((c) => c === v) ?? aliases[v];
    const also = Object.keys(aliases).filter((a) => !choices.includes(a as T));
    return hit ? ok(hit) : bad(
      `one of ${choices.join(", ")}${
        also.length ? ` (or ${also.join(", ")})` : ""
      }, case-insensitive`,
    );
  };
}

/** A parser for a whole number from `min` to `max`, written in digits only. */
export function parseInteger(
  min: number,
  max: number,
): (raw: string) => Parsed<number> {
  return (raw) => {
    const v = raw.trim();
    if (!/^\d+$/.test(v)) return bad(`a whole number from ${min} to ${max}`);
    const n = Number(v);
    return n >= min && n <= max
      ? ok(n)
      : bad(`a whole number from ${min} to ${max}`);
  };
}

/** A TCP port to connect to: 1 to 65535. */
export const parsePort: (raw: string) => Parsed<number> = parseInteger(
  1,
  65535,
);

/** An http(s) URL without query or fragment; a trailing slash is dropped. */
export function parseHttpUrl(raw: string): Parsed<string> {
  const accepted =
    "an http:// or https:// URL with a host, e.g. http://receiver.example:8001";
  const v = raw.trim();
  if (!URL.canParse(v)) return bad(accepted);
  const url = new URL(v);
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.hostname === ""
  ) {
    return bad(accepted);
  }
  if (url.search !== "" || url.hash !== "") {
    return bad(`${accepted}, without a query or fragment`);
  }
  return ok(url.href.replace(/\/+$/, ""));
}

/** Comma-separated URLs; spaces around items trimmed, empty items ignored. */
export function parseUrlList(raw: string): Parsed<string[]> {
  const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const urls: string[] = [];
  for (const item of items) {
    const parsed = parseHttpUrl(item);
    if (!parsed.ok) {
      return bad(
        `a comma-separated list of http(s) URLs; "${item}" is not one`,
      );
    }
    urls.push(parsed.value);
  }
  return ok(urls);
}

const UUID_RE =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in its canonical hyphenated form (any case). */
export function isUuid(raw: string): boolean {
  return UUID_RE.test(raw.trim());
}

/**
 * A UUID in any form Go's uuid.Parse accepts (what the reference agent takes
 * for CLUSTER_ID): canonical, `{...}`, `urn:uuid:...`, or 32 hex digits
 * without hyphens; any case. Returns it lower-case and canonical, or
 * undefined.
 */
export function normalizeUuid(raw: string): string | undefined {
  let v = raw.trim();
  if (/^urn:uuid:/i.test(v)) v = v.slice("urn:uuid:".length);
  else if (v.startsWith("{") && v.endsWith("}")) v = v.slice(1, -1);
  if (/^[0-9a-f]{32}$/i.test(v)) {
    v = [
      v.slice(0, 8),
      v.slice(8, 12),
      v.slice(12, 16),
      v.slice(16, 20),
      v.slice(20),
    ].join("-");
  }
  return UUID_RE.test(v) ? v.toLowerCase() : undefined;
}

/** The units a duration is written in, largest first, each in milliseconds. */
const DURATION_UNITS = [
  ["d", DAY_MS],
  ["h", HOUR_MS],
  ["m", MINUTE_MS],
  ["s", SECOND_MS],
  ["ms", 1],
] as const;

const UNIT_MS: Readonly<Record<string, number | undefined>> = Object
  .fromEntries(DURATION_UNITS);

const DURATION_EXAMPLES = "e.g. 250ms, 90s, 30m, 8h, 1h30m or 90d";

/**
 * Durations such as `90s`, `30m`, `8h`, `1h30m`, `250ms`, `90d`, in
 * milliseconds; zero and anything else are refused with the forms accepted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./parsers.ts";
 *
 * assert.deepEqual(parseDuration("1h30m"), { ok: true, value: 5_400_000 });
 * assert.equal(parseDuration("soon").ok, false);
 * ```
 */
export function parseDuration(raw: string): Parsed<number> {
  const ms = durationMs(raw);
  return ms !== undefined && ms > 0
    ? ok(ms)
    : bad(`a duration above zero, ${DURATION_EXAMPLES}`);
}

/** Milliseconds of a duration, 0 for a bare `0`; undefined when unreadable. */
function durationMs(raw: string): number | undefined {
  const v = raw.trim().toLowerCase();
  if (/^0+$/.test(v)) return 0;
  if (v === "") return undefined;
  let total = 0;
  let rest = v;
  while (rest !== "") {
    const [match, count, unit = ""] =
      /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(rest) ?? [];
    const unitMs = UNIT_MS[unit];
    if (match === undefined || unitMs === undefined) return undefined;
    total += Number(count) * unitMs;
    rest = rest.slice(match.length);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/**
 * Durations from `minMs` to `maxMs`: a message that says the bound when a
 * value is outside it (zero included: "above zero").
 */
export function parseDurationWithin(
  minMs: number,
  maxMs: number,
): (raw: string) => Parsed<number> {
  const range = durationRange(minMs, maxMs);
  return (raw) => {
    const ms = durationMs(raw);
    if (ms === undefined) {
      return bad(`a duration ${range}, ${DURATION_EXAMPLES}`);
    }
    if (ms === 0) return bad(`a duration above zero: ${range}`);
    if (ms < minMs) return bad(`at least ${formatDuration(minMs)}: ${range}`);
    if (ms > maxMs) return bad(`at most ${formatDuration(maxMs)}: ${range}`);
    return ok(ms);
  };
}

/** How a bounded duration's range reads in help and messages: `from 1s to 365d`. */
export function durationRange(minMs: number, maxMs: number): string {
  return `from ${formatDuration(minMs)} to ${formatDuration(maxMs)}`;
}

/** Milliseconds as the largest units that divide them: `8h`, `90s`, `1h30m`, `250ms`. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of DURATION_UNITS) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out || "0ms";
}

/** `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`, any case; empty is false. */
export function parseBoolean(raw: string): Parsed<boolean> {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return ok(true);
  if (["0", "false", "no", "off", ""].includes(v)) return ok(false);
  return bad("true/false, 1/0, yes/no or on/off");
}

/** Any text but blanks, trimmed. */
export function parseNonEmpty(raw: string): Parsed<string> {
  const v = raw.trim();
  return v === "" ? bad("a non-empty string") : ok(v);
}
