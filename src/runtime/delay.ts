// The one way hodometer waits: any length (a timer holds at most 2^31−1 ms,
// and Deno fires a longer one at once), abortable, and ended by whichever
// comes first of the wall clock and the monotonic clock reaching the end, so
// a machine that slept through the deadline (monotonic time stands still) or
// a wall clock set back does not stretch the wait.

import { MINUTE_MS } from "./units.ts";

/** The longest a single timer can be set for. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits `ms`, or less when `signal` aborts; never rejects. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * The clocks and the timer delay() waits with; each defaults to the real one,
 * and tests give their own to wait without waiting.
 */
export interface DelayClocks {
  /** Wall-clock milliseconds (Date.now). */
  now?: () => number;
  /** Monotonic milliseconds (performance.now). */
  monotonic?: () => number;
  /** One timer, at most `maxChunkMs`; resolves when it fires or `signal` aborts. */
  timer?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Longest single timer; the clocks are compared after each. */
  maxChunkMs?: number;
}

/** Chunks of at most a minute keep the wall-clock check close to the deadline. */
export const DEFAULT_CHUNK_MS: number = MINUTE_MS;

/**
 * Waits `ms` milliseconds (any finite length), or until `signal` aborts;
 * never rejects. Unlike a bare setTimeout it waits longer than 24.8 days, and
 * a suspended machine or a wall clock set back does not stretch it.
 *
 * @example
 * ```ts
 * import { delay } from "./delay.ts";
 *
 * await delay(10); // about 10 ms
 *
 * // Aborted: it ends then, without an error.
 * const stop = new AbortController();
 * setTimeout(() => stop.abort(), 10);
 * await delay(8 * 60 * 60 * 1000, stop.signal); // ends after about 10 ms
 * ```
 */
export async function delay(
  ms: number,
  signal?: AbortSignal,
  clocks: DelayClocks = {},
): Promise<void> {
  const now = clocks.now ?? Date.now;
  const monotonic = clocks.monotonic ?? (() => performance.now());
  const timer = clocks.timer ?? oneTimer;
  const chunk = Math.min(clocks.maxChunkMs ?? DEFAULT_CHUNK_MS, MAX_TIMER_MS);
  // Infinity waits until aborted; NaN or a negative wait is no wait.
  const wait = ms > 0 ? ms : 0;
  const wallEnd = now() + wait;
  const monotonicEnd = monotonic() + wait;
  while (!signal?.aborted) {
    const left = Math.min(wallEnd - now(), monotonicEnd - monotonic());
    if (left <= 0) return;
    await timer(Math.max(1, Math.min(left, chunk)), signal);
  }
}

/** `delay` as a Sleep (for code that takes its sleep as a parameter). */
export const sleep: Sleep = (ms, signal): Promise<void> => delay(ms, signal);

function oneTimer(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(id);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const id = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
