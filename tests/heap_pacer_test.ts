// The heap pacer collects when the used heap passes its limit, and the limit
// follows the live heap: a floor, or what a collection left plus the slack.

import { assertEquals } from "./assert.ts";
import {
  MIN_SLACK_BYTES,
  paceHeap,
  PACER_DEFAULTS,
  pacingFor,
  ROOMY_LIMIT_BYTES,
} from "../src/runtime/heap_pacer.ts";
import { MiB } from "../src/runtime/units.ts";

const tick = () => new Promise((r) => setTimeout(r, 15));

Deno.test("heap pacer: collects above the floor, then allows the slack over what is live", async () => {
  let used = 10;
  const collected: number[] = [];
  const pacer = paceHeap({
    floorBytes: 14,
    slackBytes: 6,
    everyMs: 1,
    usedHeap: () => used,
    collect: () => {
      collected.push(used);
      used = 12; // what a full collection leaves: the live heap
    },
  });
  try {
    await tick();
    assertEquals(collected, [], "under the floor: nothing to do");
    used = 15;
    await tick();
    assertEquals(collected, [15]);
    used = 17; // 12 live + 6 slack = 18: still allowed
    await tick();
    assertEquals(pacer.collections, 1);
    used = 19;
    await tick();
    assertEquals(collected, [15, 19]);
  } finally {
    pacer.stop();
  }
});

Deno.test("heap pacer: a live heap above the floor is not collected over and over", async () => {
  let used = 40;
  let collections = 0;
  const pacer = paceHeap({
    floorBytes: 14,
    slackBytes: 6,
    everyMs: 1,
    usedHeap: () => used,
    collect: () => {
      collections++;
      used = 40; // a large library really is live
    },
  });
  try {
    for (let i = 0; i < 5; i++) await tick();
    assertEquals(collections, 1);
  } finally {
    pacer.stop();
  }
});

Deno.test("heap pacer: without gc() it does nothing", async () => {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (exposed !== undefined) return; // the test runner was given --expose-gc
  const pacer = paceHeap({ everyMs: 1, usedHeap: () => Infinity });
  await tick();
  assertEquals(pacer.collections, 0);
  pacer.stop();
});

Deno.test("heap pacer: collectNow collects whatever the heap, and the limit follows what it left", async () => {
  let used = 5;
  let collections = 0;
  const pacer = paceHeap({
    floorBytes: 0,
    slackBytes: 2,
    everyMs: 1,
    usedHeap: () => used,
    heldHeap: () => used + 1,
    collect: () => {
      collections++;
      used = 4;
    },
  });
  try {
    pacer.collectNow();
    assertEquals(collections, 1, "asked: collected although under the limit");
    used = 6; // 4 live + 2 slack
    await tick();
    assertEquals(collections, 1);
    used = 7;
    await tick();
    assertEquals(collections, 2);
    assertEquals(pacer.peakHeldBytes, 8, "the most held at a look");
  } finally {
    pacer.stop();
  }
});

Deno.test("heap pacing from the memory limit: defaults when roomy or unknown, a shrinking slack and no floor below", () => {
  assertEquals(pacingFor(undefined), {});
  assertEquals(pacingFor(ROOMY_LIMIT_BYTES), {});
  assertEquals(pacingFor(128 * MiB), {});
  assertEquals(pacingFor(32 * MiB), {
    floorBytes: 0,
    slackBytes: MIN_SLACK_BYTES,
  });
  assertEquals(pacingFor(16 * MiB).slackBytes, MIN_SLACK_BYTES);
  const at48 = pacingFor(48 * MiB).slackBytes ?? 0;
  assertEquals(at48, (MIN_SLACK_BYTES + PACER_DEFAULTS.slackBytes) / 2);
  const justBelow = pacingFor(ROOMY_LIMIT_BYTES - 1).slackBytes ?? 0;
  assertEquals(Math.round(justBelow / 1000), PACER_DEFAULTS.slackBytes / 1000);
});
