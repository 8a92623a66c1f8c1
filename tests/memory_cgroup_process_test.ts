// Test what ships, in the stock pod's memory: `hodometer run --once` as the
// binary runs it (its permissions and V8 flags), inside a real 32 MiB memory
// cgroup, against the scheduler double. It reads the cgroup's limit itself,
// collects, publishes, and exits 0 with nothing OOM-killed.
//
// Kept short for a parallel suite on 2 cores: a modest cluster that proves
// the mechanism, and the page cache left as it is (warm: dropping it would
// slow every other test). The cold, 100 000-model proof, and the smallest
// limit that holds, are `deno task bench --only limit`.
//
// Skipped, with the reason, where memory cgroups cannot be made (not root,
// no writable memory controller).

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { shippedRunArgs } from "../scripts/permissions.ts";
import { HERMETIC_ENV } from "./fixtures/hodometer_process.ts";
import { held, memoryCgroups, runInCgroup } from "./fixtures/memory_cgroup.ts";
import { scaledCounts } from "./fixtures/scheduler_double.ts";
import { startDoubleProcess } from "../scripts/bench/double.ts";
import { startTrackSink } from "./fixtures/track_sink.ts";
import { MiB } from "../src/runtime/units.ts";

const host = await memoryCgroups();
const SCALE = {
  models: 5_000,
  servers: 500,
  replicas: 3,
  pipelines: 500,
  experiments: 50,
  modelPadding: 100,
};

Deno.test({
  name: typeof host === "string"
    ? `run --once in a 32 MiB memory cgroup: skipped (${host})`
    : "run --once in a 32 MiB memory cgroup, as shipped: the limit read, 5 000 models collected and published, exit 0, nothing OOM-killed",
  ignore: typeof host === "string",
  fn: async () => {
    if (typeof host === "string") return;
    // In a process of its own: Deno 2.9's HTTP/2 server can abort on a
    // client's GOAWAY (an nghttp2 assertion), which would end this file's
    // tests with it.
    const double = await startDoubleProcess(SCALE, { batched: false });
    const sink = startTrackSink();
    try {
      const run = await runInCgroup(host, {
        limitBytes: 32 * MiB,
        cmd: Deno.execPath(),
        args: [...shippedRunArgs(), "run", "--once"],
        env: {
          ...HERMETIC_ENV,
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          DENO_NO_UPDATE_CHECK: "1",
          SCHEDULER_HOST: "127.0.0.1",
          SCHEDULER_PLAINTXT_PORT: String(double.port),
          PUBLISH_URL: sink.url,
          LOG_LEVEL: "info",
        },
        // A bound, not a timing goal: a limit that made it thrash would
        // otherwise never end.
        timeoutMs: 120_000,
      });
      assert(
        held(run),
        `exit ${run.code}, signal ${run.signal}, OOM kills ${run.oomKills}, timed out ${run.timedOut}:\n${run.stderr}`,
      );
      assert(run.peakBytes <= 32 * MiB, `peak ${run.peakBytes}`);
      assertStringIncludes(
        run.stderr,
        "memory limit 32.0 MiB (from the cgroup, read by the runtime)",
      );
      // And that a start before the runtime's code is resident needs more.
      assertStringIncludes(
        run.stderr,
        "the memory limit (32.0 MiB) is below the 40 MiB a start may need",
      );
      assertEquals(sink.requests.length, 1);
      const props = sink.requests[0]?.event?.properties ?? {};
      const want = scaledCounts(SCALE);
      assertEquals(props.model_count, want.model_count);
      assertEquals(props.server_count, want.server_count);
      assertEquals(props.pipeline_count, want.pipeline_count);
    } finally {
      await sink.close();
      await double.stop();
    }
  },
});
