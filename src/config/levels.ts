// The domain's levels and forms, each a closed list of words and its type:
// how much an event reports (METRICS_LEVEL), how much the receiver records
// (RECORD_LEVEL), and what is logged and how (LOG_LEVEL, LOG_FORMAT). The
// settings parse them (settings.ts); the catalogue, the sources, the receiver
// and the logger take them.

/**
 * The detail levels of METRICS_LEVEL, each including the ones before it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METRICS_LEVELS, type MetricsLevel } from "./levels.ts";
 *
 * const level: MetricsLevel = "resource";
 * assert.equal(METRICS_LEVELS.indexOf(level), 1);
 * ```
 */
export const METRICS_LEVELS = ["cluster", "resource", "feature"] as const;
/** How much an event reports (METRICS_LEVEL): see the catalogue's levels. */
export type MetricsLevel = typeof METRICS_LEVELS[number];

/** LogTape's levels, lowest first; LOG_LEVEL also takes logrus' `warn` and `panic`. */
export const LOG_LEVELS = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "fatal",
] as const;
/** The lowest level logged (LOG_LEVEL). */
export type LogLevel = typeof LOG_LEVELS[number];

/** What the receiver records of each event (RECORD_LEVEL), least first. */
export const RECORD_LEVELS = ["none", "summary", "all"] as const;
/** `none` keeps no events, `summary` counts them, `all` also stores each one. */
export type RecordLevel = typeof RECORD_LEVELS[number];

/** The forms of log lines (LOG_FORMAT): text for people, JSON lines for machines. */
export const LOG_FORMATS = ["text", "json"] as const;
/** How each log line is written (LOG_FORMAT). */
export type LogFormat = typeof LOG_FORMATS[number];
