// When an event counts as heard from, for the views that count by day and the
// silent clusters: when it was received, except for an event sent to /import
// (Mixpanel's endpoint for past events), which counts at its own `time` when
// that is in the past: never in the future, and never before the retention's
// start (older history lands on the first day kept). Pure.

import { EVENT_NAME } from "../../publish/event.ts";
import type { AcceptedEvent } from "./accepted.ts";
import { SECOND_MS } from "../../runtime/units.ts";

/**
 * When an imported event with `time` (seconds; null when absent) counts as
 * heard from, received at `receivedAtMs` by a receiver keeping events for
 * `retentionMs` (0: for ever).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importedSeenAt } from "./mod.ts";
 *
 * const day = 86_400_000;
 * const receivedAtMs = Date.UTC(2026, 0, 10);
 * const threeDaysBefore = (receivedAtMs - 3 * day) / 1000;
 * assert.equal(
 *   importedSeenAt(threeDaysBefore, receivedAtMs, 0),
 *   receivedAtMs - 3 * day,
 * );
 * // Never in the future, and never before the retention's start.
 * const tomorrow = (receivedAtMs + day) / 1000;
 * assert.equal(importedSeenAt(tomorrow, receivedAtMs, 0), receivedAtMs);
 * assert.equal(importedSeenAt(0, receivedAtMs, 30 * day), receivedAtMs - 30 * day);
 * ```
 */
export function importedSeenAt(
  timeSeconds: number | null,
  receivedAtMs: number,
  retentionMs: number,
): number {
  if (timeSeconds === null) return receivedAtMs;
  const ms = Math.floor(timeSeconds * SECOND_MS);
  if (!(ms < receivedAtMs)) return receivedAtMs;
  return retentionMs > 0 ? Math.max(ms, receivedAtMs - retentionMs) : ms;
}

/** Sets `seenAtMs` of events imported at `receivedAtMs` (see importedSeenAt). */
export function stampImported(
  events: AcceptedEvent[],
  receivedAtMs: number,
  retentionMs: number,
): void {
  for (const e of events) {
    e.seenAtMs = importedSeenAt(e.time, receivedAtMs, retentionMs);
  }
}

/** When `event`, received at `receivedAtMs`, counts as heard from. */
export const seenAt = (event: AcceptedEvent, receivedAtMs: number): number =>
  event.seenAtMs ?? receivedAtMs;

/**
 * Whether an event is hodometer's (`collect metrics`): only those are a
 * cluster's snapshot and count as clusters; other Mixpanel events are kept
 * and counted apart.
 */
export const isHodometerEvent = (event: { event: string }): boolean =>
  event.event === EVENT_NAME;
