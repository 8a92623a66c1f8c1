// The collector's stages: one after another (what one stage allocates is
// garbage before the next begins), the sources of a stage together, a stage
// opened only when it begins, and nothing left running past its stage.

import { assert, assertEquals } from "./assert.ts";
import { collectStages } from "../src/collect/collector.ts";
import type { Snapshot } from "../src/metrics/catalogue.ts";
import type { Source } from "../src/metrics/source.ts";

/** A source that records when it starts and ends, answering after `ms`. */
function timed(
  name: string,
  ms: number,
  log: string[],
  snapshot: Snapshot,
): Source {
  return {
    name,
    read: (signal) =>
      new Promise((resolve) => {
        log.push(`start ${name}`);
        const aborted = () => {
          clearTimeout(timer);
          log.push(`aborted ${name}`);
          resolve({ snapshot: {}, error: `${name}: aborted` });
        };
        const timer = setTimeout(() => {
          signal.removeEventListener("abort", aborted);
          log.push(`end ${name}`);
          resolve({ snapshot });
        }, ms);
        signal.addEventListener("abort", aborted, { once: true });
      }),
  };
}

Deno.test("stages: one after another, the sources of a stage together, a full collection between", async () => {
  const log: string[] = [];
  const c = await collectStages([
    [
      timed("kubernetes nodes", 30, log, { node_count: 3 }),
      timed("kubernetes version", 10, log, { kubernetes_version: "v1.30.0" }),
    ],
    {
      name: "scheduler",
      open: () => {
        log.push("open scheduler");
        return Promise.resolve([
          timed("scheduler models", 5, log, { model_count: 7 }),
        ]);
      },
    },
  ], {
    level: "feature",
    giveUpAfterMs: 5_000,
    betweenStages: () => log.push("between"),
  });
  assertEquals(log, [
    "start kubernetes nodes",
    "start kubernetes version",
    "end kubernetes version",
    "end kubernetes nodes",
    "between",
    "open scheduler",
    "start scheduler models",
    "end scheduler models",
  ]);
  assertEquals(c.failures, []);
  assertEquals(c.snapshot.node_count, 3);
  assertEquals(c.snapshot.kubernetes_version, "v1.30.0");
  assertEquals(c.snapshot.model_count, 7);
});

Deno.test("stages: a stage that cannot open fails as one, named; the other stages still report", async () => {
  const log: string[] = [];
  const c = await collectStages([
    { name: "scheduler", open: () => Promise.reject(new Error("no module")) },
    [timed("kubernetes nodes", 1, log, { node_count: 2 })],
  ], { level: "feature", giveUpAfterMs: 5_000 });
  assertEquals(c.failures, ["scheduler: unexpected failure: no module"]);
  assertEquals(c.snapshot.node_count, 2);
});

Deno.test("stages: a source abandoned at the give-up time is aborted before the next stage begins", async () => {
  const log: string[] = [];
  const c = await collectStages([
    [
      timed("kubernetes nodes", 60_000, log, { node_count: 1 }),
      timed("kubernetes version", 1, log, { kubernetes_version: "v1.31.2" }),
    ],
    [timed("scheduler models", 1, log, { model_count: 4 })],
  ], { level: "feature", giveUpAfterMs: 100 });
  assertEquals(c.failures, ["kubernetes nodes: no answer within 100 ms"]);
  assertEquals(c.snapshot.kubernetes_version, "v1.31.2");
  assertEquals(c.snapshot.model_count, 4);
  const aborted = log.indexOf("aborted kubernetes nodes");
  assert(aborted >= 0, log.join(", "));
  assert(aborted < log.indexOf("start scheduler models"), log.join(", "));
});

Deno.test("stages: stopped during a stage, the later stages are not begun", async () => {
  const log: string[] = [];
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 20);
  await collectStages([
    [timed("kubernetes nodes", 60_000, log, { node_count: 1 })],
    [timed("scheduler models", 1, log, { model_count: 4 })],
  ], { level: "feature", giveUpAfterMs: 5_000, signal: stop.signal });
  assertEquals(log, ["start kubernetes nodes", "aborted kubernetes nodes"]);
});
