// The schedule of `hodometer run`: a cycle now, then one per interval with
// jitter, never two at once. A cycle that runs past the next tick makes that
// tick skipped (and said so), not queued.

import type { Sleep } from "../runtime/delay.ts";

/** runLoop's schedule, and the clocks and sleep it keeps it with. */
export interface LoopOptions {
  /** The time from one cycle's start to the next's, before jitter. */
  intervalMs: number;
  /** Each wait is intervalMs × (1 ± jitter); 0.05 so a fleet does not report in lock-step. */
  jitter?: number;
  /** Ends the loop: no cycle starts once it is aborted, and a wait ends. */
  signal: AbortSignal;
  /** Waits between cycles; must end early when `signal` aborts. */
  sleep: Sleep;
  /** Wall-clock milliseconds; Date.now unless a test gives its own. */
  now?: () => number;
  /** A number in [0, 1) for the jitter; Math.random unless a test gives its own. */
  random?: () => number;
  /** Told how many scheduled cycles a long cycle made the loop skip. */
  onSkipped?: (ticks: number) => void;
}

/**
 * Runs `cycle` now and then once per interval (± jitter) until `signal`
 * aborts, never two at once; resolves to the number of cycles run. A cycle
 * is given its number, from 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runLoop } from "./run_loop.ts";
 * import { sleep } from "../runtime/delay.ts";
 *
 * const stop = new AbortController();
 * const cycles = await runLoop(async (n) => {
 *   if (n === 3) stop.abort(); // e.g. SIGTERM, in the third cycle
 *   await Promise.resolve();
 * }, { intervalMs: 5, signal: stop.signal, sleep });
 * assert.equal(cycles, 3);
 * ```
 */
export async function runLoop(
  cycle: (n: number) => Promise<void>,
  options: LoopOptions,
): Promise<number> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const jitter = options.jitter ?? 0.05;
  const wait = () =>
    Math.max(
      1,
      Math.round(options.intervalMs * (1 + jitter * (2 * random() - 1))),
    );
  let cycles = 0;
  let next = now();
  while (!options.signal.aborted) {
    await cycle(++cycles);
    if (options.signal.aborted) break;
    next += wait();
    let skipped = 0;
    while (now() >= next) {
      skipped++;
      next += wait();
    }
    if (skipped > 0) options.onSkipped?.(skipped);
    await options.sleep(next - now(), options.signal);
  }
  return cycles;
}
