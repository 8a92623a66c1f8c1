// A scheduler that sends GOAWAY (it closes connections by age or idleness,
// as gRPC servers and proxies do) during and after collections: the agent
// opens the scheduler per cycle and closes it after, so at most that cycle's
// scheduler metrics are lost (omitted, never miscounted) and the process
// lives on (Deno's node:http2 can abort a process when a GOAWAY closes a
// long-idle session).

import { assert, assertEquals, nth } from "./assert.ts";
import { spawnHodometer } from "./fixtures/hodometer_process.ts";
import {
  SAMPLE_COUNTS,
  sampleScenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";
import { startTrackSink } from "./fixtures/track_sink.ts";

Deno.test("scheduler GOAWAY during and after collections: at most that cycle's scheduler metrics, the process lives on", async () => {
  const scenario = sampleScenario();
  // The first models stream outlives the connection: GOAWAY at 1 s, the
  // connection cut 200 ms later, in the middle of the stream. (A later
  // collection, answered at once, ends well before its connection's age is
  // up, also on a machine busy with other tests.)
  scenario.faults = { modelStatus: { kind: "delay", ms: 3_000 } };
  const scheduler = await startSchedulerDouble(scenario, {
    serverOptions: {
      "grpc.max_connection_age_ms": 1_000,
      "grpc.max_connection_age_grace_ms": 200,
      "grpc.max_connection_idle_ms": 100,
    },
  });
  const sink = startTrackSink();
  const run = spawnHodometer(["run", "--interval", "1s"], {
    SCHEDULER_HOST: "127.0.0.1",
    SCHEDULER_PLAINTXT_PORT: String(scheduler.port),
    SCHEDULER_TIMEOUT: "10s",
    PUBLISH_URL: sink.url,
    LOG_LEVEL: "debug",
  });
  let ended = false;
  run.child.status.then(() => ended = true);
  try {
    // Later models calls answer at once.
    const until = Date.now() + 20_000;
    while (!scheduler.calls.some((c) => c.rpc === "modelStatus")) {
      assert(Date.now() < until, run.stderr());
      await new Promise((r) => setTimeout(r, 10));
    }
    scenario.faults = {};
    // Idle GOAWAYs after each collection, between cycles.
    await run.waitFor(/cycle 4: event/, 30_000);
    assert(!ended, "the process ended");
  } finally {
    run.child.kill("SIGTERM");
  }
  const { code, stderr } = await run.exit();
  await sink.close();
  await scheduler.close();
  assertEquals(code, 0, stderr);
  assert(!/panic|Uncaught|SIGABRT/i.test(stderr), stderr);

  const events = sink.requests.map((r) => r.event!.properties);
  assert(events.length >= 4, `${events.length} events`);
  const [first, ...later] = [nth(events, 0), ...events.slice(1)];
  // The first cycle: each scheduler metric right or omitted, never wrong.
  for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
    if (first[name] !== undefined) {
      assertEquals(first[name], value, name);
    }
  }
  // Every later cycle is whole.
  for (const p of later) {
    for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
      assertEquals(p[name], value, name);
    }
  }
  // The GOAWAY did reach the first models stream.
  assert(
    scheduler.calls.filter((c) => c.rpc === "modelStatus").length >
        events.length || first.model_count === undefined,
    stderr,
  );
});
