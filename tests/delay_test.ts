// The one long timer: any length, chunked below what a timer can hold, ended
// by the wall clock or the monotonic clock, whichever reaches the end first,
// and abortable.

import { assert, assertEquals } from "./assert.ts";
import { DEFAULT_CHUNK_MS, delay, MAX_TIMER_MS } from "../src/runtime/delay.ts";
import { runLoop } from "../src/agent/run_loop.ts";
import { DAY_MS } from "../src/runtime/units.ts";

/** Fake wall and monotonic clocks; every timer moves both on at once. */
function fakeClocks(start = 1_700_000_000_000) {
  const c = {
    wall: start,
    mono: 0,
    timers: [] as number[],
    /** Extra wall-clock time that passes during each timer (a suspended machine). */
    wallDrift: 0,
  };
  return {
    c,
    clocks: {
      now: () => c.wall,
      monotonic: () => c.mono,
      timer: (ms: number) => {
        c.timers.push(ms);
        c.wall += ms + c.wallDrift;
        c.mono += ms;
        return Promise.resolve();
      },
    },
  };
}

Deno.test("delay: 30 days in timers no longer than a minute, ending exactly at the end", async () => {
  const { c, clocks } = fakeClocks();
  await delay(30 * DAY_MS, undefined, clocks);
  assertEquals(c.mono, 30 * DAY_MS);
  assert(c.timers.every((ms) => ms >= 1 && ms <= DEFAULT_CHUNK_MS));
  assertEquals(c.timers.length, (30 * DAY_MS) / DEFAULT_CHUNK_MS);
});

Deno.test("delay: no single timer above 2^31−1 ms, whatever the chunk asked for", async () => {
  const { c, clocks } = fakeClocks();
  await delay(90 * DAY_MS, undefined, { ...clocks, maxChunkMs: 365 * DAY_MS });
  assertEquals(c.mono, 90 * DAY_MS);
  assert(Math.max(...c.timers) === MAX_TIMER_MS, String(c.timers));
});

Deno.test("delay: a machine that slept through the deadline ends the wait by the wall clock", async () => {
  const { c, clocks } = fakeClocks();
  c.wallDrift = 3_600_000; // each minute of timer, an hour passes on the wall
  await delay(DAY_MS, undefined, clocks);
  assert(c.mono < DAY_MS / 10, `monotonic ${c.mono}`);
  assert(c.wall - 1_700_000_000_000 >= DAY_MS);
});

Deno.test("delay: a wall clock set back does not stretch the wait", async () => {
  const { c, clocks } = fakeClocks();
  let first = true;
  await delay(10 * 60_000, undefined, {
    ...clocks,
    timer: (ms) => {
      if (first) c.wall -= 365 * DAY_MS;
      first = false;
      return clocks.timer(ms);
    },
  });
  assertEquals(c.mono, 10 * 60_000);
});

Deno.test("delay: a wait longer than a timer holds does not end at once (real timers)", async () => {
  const stop = new AbortController();
  let ended = false;
  const long = delay(2 ** 31 + 1_000, stop.signal).then(() => ended = true);
  await new Promise((r) => setTimeout(r, 300));
  assertEquals(ended, false);
  stop.abort();
  await long;
  assertEquals(ended, true);
});

Deno.test("delay: abort ends a wait promptly; an aborted signal waits not at all; Infinity waits for the abort", async () => {
  const stop = new AbortController();
  const started = performance.now();
  const forever = delay(Infinity, stop.signal);
  setTimeout(() => stop.abort(), 50);
  await forever;
  assert(performance.now() - started < 30_000);
  assertEquals(stop.signal.aborted, true);
  await delay(30 * DAY_MS, stop.signal); // already aborted: returns
  await delay(-5);
  await delay(NaN);
});

Deno.test("delay: a short wait lasts at least its length (real timers)", async () => {
  const started = Date.now();
  await delay(40);
  assert(Date.now() - started >= 39, `${Date.now() - started} ms`);
});

Deno.test("run --interval 30d with a fake clock: one cycle now, the next 30 days (±5%) later, none between", async () => {
  const { c, clocks } = fakeClocks(0);
  const stop = new AbortController();
  const starts: number[] = [];
  await runLoop(async (n) => {
    starts.push(c.wall);
    if (n === 3) stop.abort();
    await Promise.resolve();
  }, {
    intervalMs: 30 * DAY_MS,
    signal: stop.signal,
    now: clocks.now,
    random: () => 0, // the shortest jittered wait: 28.5 days
    sleep: (ms, signal) => delay(ms, signal, clocks),
  });
  assertEquals(starts, [0, 28.5 * DAY_MS, 57 * DAY_MS]);
  assert(c.timers.every((ms) => ms <= MAX_TIMER_MS));
});
