// The units hodometer counts in, defined once: time in milliseconds (what
// timers, Date.now and every `…Ms` setting take) and sizes in bytes. Seconds
// appear only at the edges (an event's `time`, Prometheus' timestamps), each
// converted with SECOND_MS.

/**
 * A second, in milliseconds; divide by it to turn milliseconds into seconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from "./units.ts";
 *
 * assert.equal(90 * SECOND_MS, 90_000);
 * assert.equal(1_700_000_000_000 / SECOND_MS, 1_700_000_000);
 * assert.equal(DAY_MS, 24 * HOUR_MS);
 * assert.equal(HOUR_MS, 60 * MINUTE_MS);
 * ```
 */
export const SECOND_MS = 1000;
/** A minute, in milliseconds. */
export const MINUTE_MS: number = 60 * SECOND_MS;
/** An hour, in milliseconds. */
export const HOUR_MS: number = 60 * MINUTE_MS;
/** A day (24 hours; no calendar), in milliseconds. */
export const DAY_MS: number = 24 * HOUR_MS;

/** A kibibyte: 1024 bytes. */
export const KiB = 1024;
/** A mebibyte: 1024 KiB. */
export const MiB: number = 1024 * KiB;

/**
 * Bytes as operators read them: the exact count, and from 1 KiB up the same
 * in KiB or MiB (one decimal unless whole).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes, MiB } from "./units.ts";
 *
 * assert.equal(formatBytes(32 * MiB), "33554432 bytes (32 MiB)");
 * assert.equal(formatBytes(1536), "1536 bytes (1.5 KiB)");
 * assert.equal(formatBytes(1), "1 byte");
 * ```
 */
export function formatBytes(n: number): string {
  const [unit, size] = n >= MiB ? ["MiB", n / MiB] : ["KiB", n / KiB];
  if (size >= 1) {
    return `${n} bytes (${
      Number.isInteger(size) ? size : size.toFixed(1)
    } ${unit})`;
  }
  return `${n} byte${n === 1 ? "" : "s"}`;
}
