// `hodometer collect` as shipped counts what Seldon's Go hodometer counts, on
// a cluster where the two ways of reading pipelines disagree.

import { assertEquals } from "./assert.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import {
  experiment,
  model,
  pipeline,
  type Scenario,
  server,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";

const [CREATE, CREATING, READY, FAILED, TERMINATING, TERMINATED] = [
  1,
  2,
  3,
  4,
  6,
  7,
];

/**
 * Pipelines whose versions (oldest first) disagree: any live version would
 * count 6 of them, Go's latest-version rule counts 3.
 */
const VERSIONED: Scenario = {
  servers: () => [server("s", 1, 1)],
  models: () => [model("m"), model("gone", true)],
  pipelines: () => [
    pipeline("new-version-failed", READY, FAILED),
    pipeline("failed-then-fixed", FAILED, READY),
    pipeline("being-deleted", READY, TERMINATING),
    pipeline("rolling-out", READY, CREATING),
    pipeline("replaced-then-deleted", READY, CREATE, TERMINATED),
    pipeline("fresh", CREATE),
    pipeline("old-copy-still-ready", READY, TERMINATED),
  ],
  experiments: () => [experiment("e", true)],
};

Deno.test("collect reports Go's pipeline_count where a pipeline's latest and older versions disagree", async () => {
  const double = await startSchedulerDouble(VERSIONED);
  try {
    const r = await hodometer(["collect", "--compact", "--level", "resource"], {
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PORT: String(double.port),
    });
    assertEquals(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout).properties;
    // failed-then-fixed, rolling-out, fresh.
    assertEquals(p.pipeline_count, 3);
    assertEquals(p.model_count, 1);
    // Both version-aware requests ask for the latest version only, as Go's.
    const flags = double.calls
      .filter((c) => c.rpc === "pipelineStatus" || c.rpc === "modelStatus")
      .map((c) => [c.rpc, c.allVersions]);
    assertEquals(flags.sort(), [
      ["modelStatus", false],
      ["pipelineStatus", false],
    ]);
  } finally {
    await double.close();
  }
});
