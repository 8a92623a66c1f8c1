// The run schedule with a fake clock: a cycle now, then one per interval with
// jitter; a cycle that outlasts ticks makes them skipped, never overlapping.

import { assertEquals } from "./assert.ts";
import { runLoop } from "../src/agent/run_loop.ts";

function fakeClock() {
  let t = 0;
  const advance = (ms: number) => t += ms;
  const waits: number[] = [];
  return {
    now: () => t,
    advance,
    /** Sleeping moves the clock on at once; `waits` records each sleep. */
    sleep: (ms: number) => {
      waits.push(ms);
      advance(ms);
      return Promise.resolve();
    },
    waits,
  };
}

Deno.test("cycles start at 0, I, 2I… while cycles are short", async () => {
  const clock = fakeClock();
  const stop = new AbortController();
  const starts: number[] = [];
  await runLoop(async (n) => {
    starts.push(clock.now());
    clock.advance(10);
    if (n === 4) stop.abort();
    await Promise.resolve();
  }, {
    intervalMs: 1000,
    jitter: 0,
    signal: stop.signal,
    now: clock.now,
    sleep: clock.sleep,
  });
  assertEquals(starts, [0, 1000, 2000, 3000]);
});

Deno.test("a cycle longer than the interval skips the ticks it covered and says how many", async () => {
  const clock = fakeClock();
  const stop = new AbortController();
  const starts: number[] = [];
  const skipped: number[] = [];
  await runLoop(async (n) => {
    starts.push(clock.now());
    clock.advance(n === 1 ? 2500 : 10);
    if (n === 3) stop.abort();
    await Promise.resolve();
  }, {
    intervalMs: 1000,
    jitter: 0,
    signal: stop.signal,
    now: clock.now,
    sleep: clock.sleep,
    onSkipped: (k) => skipped.push(k),
  });
  assertEquals(starts, [0, 3000, 4000]);
  assertEquals(skipped, [2]);
});

Deno.test("waits are jittered within ±5% of the interval", async () => {
  const clock = fakeClock();
  const stop = new AbortController();
  const randoms = [0, 0.999999, 0.5];
  await runLoop(async (n) => {
    if (n === 4) stop.abort();
    await Promise.resolve();
  }, {
    intervalMs: 10_000,
    signal: stop.signal,
    now: clock.now,
    random: () => randoms.shift()!,
    sleep: clock.sleep,
  });
  assertEquals(clock.waits, [9_500, 10_500, 10_000]);
});
