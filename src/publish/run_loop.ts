// The schedule of `hodometer run`: a cycle now, then one per interval with
// jitter, never two at once. A cycle that runs past the next tick makes that
// tick skipped (and said so), not queued.

import type { Sleep } from "../delay.ts";

export interface LoopOptions {
  intervalMs: number;
  /** Each wait is intervalMs × (1 ± jitter); 0.05 so a fleet does not report in lock-step. */
  jitter?: number;
  signal: AbortSignal;
  sleep: Sleep;
  now?: () => number;
  random?: () => number;
  onSkipped?: (ticks: number) => void;
}

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
