// The heap pacer collects when the used heap passes its limit, and the limit
// follows the live heap: a floor, or what a collection left plus the slack.

import { assertEquals } from "./assert.ts";
import { paceHeap } from "../src/runtime/heap_pacer.ts";

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
