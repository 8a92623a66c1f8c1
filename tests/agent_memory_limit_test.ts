// The agent and its memory limit: said at start, and a warning (once, or
// again when a cycle needs more) when a cycle shows the limit is too small.

import { assertEquals, assertMatch } from "./assert.ts";
import {
  BESIDES_HEAP_BYTES,
  COLD_START_BYTES,
  limitAdvice,
  limitWatch,
  memoryNeed,
  startWithLimit,
} from "../src/agent/memory_limit.ts";
import { linesLogger } from "./fixtures/log_lines.ts";
import { MiB } from "../src/runtime/units.ts";

Deno.test("memory need: the heap's peak and what the runtime needs besides, in whole MiB", () => {
  assertEquals(memoryNeed(0), 0, "unknown peak: no need said");
  const need = memoryNeed(10 * MiB + 1);
  assertEquals(need % MiB, 0);
  assertEquals(
    need,
    Math.ceil((10 * MiB + 1 + BESIDES_HEAP_BYTES) / MiB) * MiB,
  );
});

Deno.test("limit advice: only when the limit is below the need, naming both and what to give", () => {
  const heap = 14 * MiB;
  const need = memoryNeed(heap);
  assertEquals(limitAdvice(undefined, heap), undefined, "no limit");
  assertEquals(limitAdvice(need, heap), undefined, "exactly enough");
  assertEquals(limitAdvice(need - MiB, 0), undefined, "peak unknown");
  const advice = limitAdvice(need - MiB, heap) ?? "";
  assertMatch(
    advice,
    new RegExp(
      `memory limit \\(${
        need / MiB - 1
      }\\.0 MiB\\) is below what this cluster needs: .*14\\.0 MiB.*Give the pod at least ${
        need / MiB
      } MiB`,
    ),
  );
});

Deno.test("limit watch: warns once, and again only when a later cycle needs more", () => {
  const { log, lines } = linesLogger();
  const watch = limitWatch(20 * MiB, log);
  watch(10 * MiB);
  watch(10 * MiB);
  watch(9 * MiB);
  assertEquals(lines.length, 1, lines.join("\n"));
  watch(12 * MiB);
  assertEquals(lines.length, 2, lines.join("\n"));
  assertMatch(lines[1] ?? "", /^warn the memory limit \(20\.0 MiB\)/);
  const roomy = linesLogger();
  limitWatch(512 * MiB, roomy.log)(12 * MiB);
  limitWatch(undefined, roomy.log)(12 * MiB);
  assertEquals(roomy.lines, []);
});

Deno.test("the limit at start: said with where it came from, a warning below a cold start's need; none and unknown at debug level", async () => {
  const { log, lines } = linesLogger();
  assertEquals(
    await startWithLimit(
      log,
      () => Promise.resolve({ limit: { bytes: 32 * MiB, source: "runtime" } }),
    ),
    32 * MiB,
  );
  assertEquals(
    await startWithLimit(log, () =>
      Promise.resolve({
        limit: { bytes: 48 * MiB, source: "/sys/fs/cgroup/memory.max" },
      })),
    48 * MiB,
  );
  assertEquals(
    await startWithLimit(log, () => Promise.resolve({ limit: undefined })),
    undefined,
  );
  assertEquals(
    await startWithLimit(
      log,
      () => Promise.resolve({ limit: undefined, unknown: "not permitted" }),
    ),
    undefined,
  );
  await startWithLimit(
    log,
    () =>
      Promise.resolve({
        limit: { bytes: COLD_START_BYTES, source: "runtime" },
      }),
  );
  assertEquals(lines.length, 6);
  assertEquals(
    lines[0],
    "info memory limit 32.0 MiB (from the cgroup, read by the runtime)",
  );
  assertMatch(
    lines[1] ?? "",
    /^warn the memory limit \(32\.0 MiB\) is below the 40 MiB a start may need while the runtime's code is not yet resident on the node .* Give the pod 40 MiB \(docs\/performance\.md\)$/,
  );
  assertEquals(lines.slice(2), [
    "info memory limit 48.0 MiB (from /sys/fs/cgroup/memory.max)",
    "debug no memory limit (no cgroup limit found)",
    "debug memory limit unknown: not permitted",
    "info memory limit 40.0 MiB (from the cgroup, read by the runtime)",
  ]);
});
