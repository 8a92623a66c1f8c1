// `hodometer run` and `collect --publish` as real processes, against the
// scheduler double and loopback receivers.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  nth,
} from "./assert.ts";
import { hodometer, spawnHodometer } from "./fixtures/hodometer_process.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import {
  SAMPLE_COUNTS,
  sampleScenario,
  type SchedulerDouble,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";
import { startTrackSink, type TrackSink } from "./fixtures/track_sink.ts";
import { REFUSING_PORT } from "./fixtures/refused.ts";

async function withScheduler<T>(
  fn: (env: Record<string, string>, double: SchedulerDouble) => Promise<T>,
  scenario = sampleScenario(),
): Promise<T> {
  const double = await startSchedulerDouble(scenario);
  const stateDir = await Deno.makeTempDir();
  try {
    return await fn({
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PORT: String(double.port),
      STATE_DIR: stateDir,
    }, double);
  } finally {
    await double.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

async function withSinks<T>(
  sinks: TrackSink[],
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } finally {
    await Promise.all(sinks.map((s) => s.close()));
  }
}

/** `hodometer <command>` (`run` unless said) in the background, its logs collected. */
function spawnRun(
  args: string[],
  env: Record<string, string>,
  command = "run",
) {
  return spawnHodometer([command, ...args], { LOG_LEVEL: "debug", ...env });
}

Deno.test("end to end: scheduler double, hodometer receive, run --once: one event, the scenario's counts", async () => {
  await withScheduler(async (env) => {
    const receiver = await startReceiverProcess({
      args: ["--record-level", "all"],
      env: { STORE: ":memory:" },
    });
    try {
      const r = await hodometer(["run", "--once"], {
        ...env,
        PUBLISH_URL: receiver.url,
      });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, "");
      assertStringIncludes(r.stderr, "delivered to 1 of 1 URL(s)");
      const events = await (await fetch(`${receiver.url}/events`)).json();
      assertEquals(events.length, 1);
      const p = events[0].properties;
      for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
        assertEquals(p[name], value, name);
      }
      assertEquals(p.distinct_id, p.cluster_id);
    } finally {
      await receiver.stop();
    }
  });
});

Deno.test("run --interval: one event per cycle, same distinct_id, new $insert_id; SIGTERM between cycles ends it with 0", async () => {
  const sink = startTrackSink();
  await withSinks([sink], () =>
    withScheduler(async (env) => {
      // SIGTERM comes right after cycle 3, well before the next one starts.
      const run = spawnRun(["--interval", "1s"], {
        ...env,
        PUBLISH_URL: sink.url,
      });
      try {
        await run.waitFor(/cycle 3: event/);
      } finally {
        run.child.kill("SIGTERM");
      }
      const { code, stderr } = await run.exit();
      assertEquals(code, 0, stderr);
      assertStringIncludes(stderr, "stopped after");
      const events = sink.requests.map((r) => r.event!.properties);
      assert(events.length >= 3, `${events.length} events`);
      assertEquals(new Set(events.map((p) => p.distinct_id)).size, 1);
      assertEquals(
        new Set(events.map((p) => p.$insert_id)).size,
        events.length,
      );
    }));
});

Deno.test("run --interval 30d: exactly one event in 5 s (a wait longer than a timer holds is not a tight loop)", async () => {
  const sink = startTrackSink();
  await withSinks([sink], () =>
    withScheduler(async (env) => {
      const started = Date.now();
      const run = spawnRun(["--interval", "30d"], {
        ...env,
        PUBLISH_URL: sink.url,
      });
      let ended = false;
      run.child.status.then(() => ended = true);
      try {
        await run.waitFor(/cycle 1: event/);
        const rest = 5_000 - (Date.now() - started);
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
        assertEquals(sink.requests.length, 1, run.stderr());
        assert(!ended, "run exited on its own");
      } finally {
        run.child.kill("SIGTERM");
      }
      const { code, stderr } = await run.exit();
      assertEquals(code, 0, stderr);
      assertStringIncludes(stderr, "collecting every 30d");
      assertStringIncludes(stderr, "stopped after 1 cycle(s)");
      assertEquals(sink.requests.length, 1);
    }));
});

for (const args of [["--once"], ["--interval", "1h"]]) {
  Deno.test(`run ${args.join(" ")}: SIGTERM during a retry backoff ends it promptly with status 1, saying what was not delivered`, async () => {
    const failing = startTrackSink(() => new Response("busy", { status: 503 }));
    await withSinks([failing], () =>
      withScheduler(async (env) => {
        const run = spawnRun(args, { ...env, PUBLISH_URL: failing.url });
        try {
          await run.waitFor(/retrying/);
        } finally {
          run.child.kill("SIGTERM");
        }
        const signalled = Date.now();
        const { code, stderr } = await run.exit();
        assertEquals(code, 1, stderr);
        assert(Date.now() - signalled < 2_000, "exit within 2 s of SIGTERM");
        assertStringIncludes(
          stderr,
          `not delivered to ${failing.url}/track: stopped before delivery after 1 attempt(s); last cause: HTTP 503 Service Unavailable: busy`,
        );
        assertStringIncludes(stderr, "cycle 1 stopped: event");
        assertStringIncludes(stderr, "delivered to 0 of 1 URL(s)");
      }));
  });
}

Deno.test("run --once stopped while still collecting exits 1: no URL got the event", async () => {
  const sink = startTrackSink();
  const slow = {
    ...sampleScenario(),
    faults: { modelStatus: { kind: "delay", ms: 60_000 } as const },
  };
  await withSinks([sink], () =>
    withScheduler(async (env) => {
      const run = spawnRun(["--once"], { ...env, PUBLISH_URL: sink.url });
      try {
        await run.waitFor(/one cycle at level/);
        // the other rpcs have answered; models is the one still pending
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        run.child.kill("SIGTERM");
      }
      const { code, stderr } = await run.exit();
      assertEquals(code, 1, stderr);
      assertEquals(sink.requests.length, 0);
      assertStringIncludes(
        stderr,
        `not delivered to ${sink.url}/track: stopped before delivery (no attempt made)`,
      );
    }, slow));
});

Deno.test("run --once with nothing listening: the first failure is a warning within seconds, with its cause", async () => {
  const port = REFUSING_PORT;
  await withScheduler(async (env) => {
    // the default log level: the warning must not need debug
    const run = spawnRun(["--once"], {
      ...env,
      LOG_LEVEL: "info",
      PUBLISH_URL: `http://127.0.0.1:${port}/`,
    });
    const warning = new RegExp(
      `^(\\S+) \\[WRN\\].*attempt 1 to http://127\\.0\\.0\\.1:${port}/track failed: .*refused.*; retrying`,
      "im",
    );
    try {
      await run.waitFor(warning, 20_000);
    } finally {
      run.child.kill("SIGINT");
    }
    // Seconds from the start of the cycle to the warning, by the log's own
    // clock (process start-up does not count): the collection, one attempt.
    const at = (m: RegExpExecArray | null) => Date.parse(m?.[1] ?? "");
    const seconds = (at(warning.exec(run.stderr())) -
      at(/^(\S+) .*one cycle at level/m.exec(run.stderr()))) / 1000;
    assert(seconds >= 0 && seconds < 3, `first warning after ${seconds} s`);
    const { code, stderr } = await run.exit();
    assertEquals(code, 1, stderr);
    assertMatch(
      stderr,
      new RegExp(
        `not delivered to http://127\\.0\\.0\\.1:${port}/track: stopped before delivery after \\d+ attempt\\(s\\); last cause: .*refused`,
        "i",
      ),
    );
    // retries are at debug level: one warning for the first failure only
    assertEquals(stderr.match(/attempt \d+ to/g)?.length, 1, stderr);
  });
});

Deno.test("run --once: a URL that already ends in /track gets the event once, at /track", async () => {
  const sink = startTrackSink();
  await withSinks([sink], () =>
    withScheduler(async (env) => {
      const r = await hodometer(["run", "--once"], {
        ...env,
        PUBLISH_URL: `${sink.url}/track`,
      });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(sink.requests.map((q) => q.path), ["/track"]);
      assertStringIncludes(r.stderr, `delivered to ${sink.url}/track after 1`);
      assert(!r.stderr.includes("/track/track"), r.stderr);
    }));
});

Deno.test("collect --publish stopped by SIGTERM or SIGINT exits 1, saying which URL did not get the event", async () => {
  const failing = startTrackSink(() => new Response("busy", { status: 503 }));
  await withSinks([failing], () =>
    withScheduler(async (env) => {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        const run = spawnRun(
          ["--publish", "--compact"],
          { ...env, PUBLISH_URL: failing.url },
          "collect",
        );
        try {
          await run.waitFor(/retrying/);
        } finally {
          run.child.kill(signal);
        }
        const { code, stdout, stderr } = await run.exit();
        assertEquals(code, 1, `${signal}: ${stderr}`);
        assertEquals(JSON.parse(stdout).event, "collect metrics");
        assertStringIncludes(
          stderr,
          `not delivered to ${failing.url}/track: stopped before delivery after 1 attempt(s); last cause: HTTP 503`,
        );
      }
    }));
});

Deno.test("run --once exits 1 when a URL refuses the event, and says so (404: with a hint)", async () => {
  const refusing = startTrackSink(() =>
    new Response("404 page not found", { status: 404 })
  );
  const healthy = startTrackSink();
  await withSinks([refusing, healthy], () =>
    withScheduler(async (env) => {
      const r = await hodometer(["run", "--once"], {
        ...env,
        PUBLISH_URL: refusing.url,
        EXTRA_PUBLISH_URLS: healthy.url,
      });
      assertEquals(r.code, 1, r.stderr);
      assertEquals(refusing.requests.length, 1);
      assertEquals(healthy.requests.length, 1);
      assertStringIncludes(
        r.stderr,
        `failed to deliver to ${refusing.url}/track: HTTP 404 Not Found: 404 page not found; is ${refusing.url}/track a hodometer or Mixpanel receiver?`,
      );
      assertStringIncludes(r.stderr, "delivered to 1 of 2 URL(s)");
    }));
});

Deno.test("DO_NOT_TRACK: Seldon's URL is skipped, extra URLs still get the event", async () => {
  const seldon = startTrackSink();
  const own = startTrackSink();
  await withSinks([seldon, own], () =>
    withScheduler(async (env) => {
      const r = await hodometer(["run", "--once"], {
        ...env,
        PUBLISH_URL: seldon.url,
        EXTRA_PUBLISH_URLS: ` ${own.url}/base , `,
        DO_NOT_TRACK: "1",
      });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(seldon.requests.length, 0);
      assertEquals(own.requests.map((q) => q.path), ["/base/track"]);
      assertStringIncludes(r.stderr, "DO_NOT_TRACK is set");
    }));
});

Deno.test("the cluster id is stable across runs with one state dir; CLUSTER_ID wins", async () => {
  const sink = startTrackSink();
  await withSinks([sink], () =>
    withScheduler(async (env) => {
      const once = (extra: Record<string, string> = {}) =>
        hodometer(["run", "--once", "--level", "cluster"], {
          ...env,
          PUBLISH_URL: sink.url,
          ...extra,
        });
      assertEquals((await once()).code, 0);
      assertEquals((await once()).code, 0);
      const fixed = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
      assertEquals((await once({ CLUSTER_ID: fixed })).code, 0);
      const ids = sink.requests.map((r) => r.event!.properties.distinct_id);
      assertEquals(ids.length, 3);
      assertEquals(ids[0], ids[1]);
      assertEquals(ids[2], fixed);
      const stored = await Deno.readTextFile(`${env.STATE_DIR}/cluster_id`);
      assertEquals(stored.trim(), ids[0]);
    }));
});

Deno.test("collect --publish prints the event, sends that same event once and keeps the cluster id", async () => {
  const sink = startTrackSink();
  await withSinks([sink], () =>
    withScheduler(async (env) => {
      const r = await hodometer(["collect", "--publish", "--compact"], {
        ...env,
        PUBLISH_URL: sink.url,
      });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(sink.requests.length, 1);
      const event = JSON.parse(r.stdout);
      assertEquals(nth(sink.requests, 0).event, event);
      const kept = await Deno.readTextFile(`${env.STATE_DIR}/cluster_id`);
      assertEquals(kept.trim(), event.properties.distinct_id);
    }));
});

Deno.test("collect --publish: delivered but a source failed is exit 3; not delivered is exit 1", async () => {
  const sink = startTrackSink();
  const refusing = startTrackSink(() => new Response("no", { status: 400 }));
  const port = REFUSING_PORT;
  await withSinks([sink, refusing], async () => {
    const env = {
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PORT: String(port),
      SCHEDULER_TIMEOUT: "1s",
      CLUSTER_ID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    };
    const delivered = await hodometer(["collect", "--publish"], {
      ...env,
      PUBLISH_URL: sink.url,
    });
    assertEquals(delivered.code, 3, delivered.stderr);
    assertEquals(sink.requests.length, 1);
    const refused = await hodometer(["collect", "--publish"], {
      ...env,
      PUBLISH_URL: refusing.url,
    });
    assertEquals(refused.code, 1, refused.stderr);
  });
});

Deno.test("DO_NOT_TRACK with no extra URLs: run stays idle (no crash loop) until SIGTERM", async () => {
  await withScheduler(async (env) => {
    const run = spawnRun([], { ...env, DO_NOT_TRACK: "1" });
    let ended = false;
    run.child.status.then(() => ended = true);
    try {
      await run.waitFor(/idle until stopped/);
      await new Promise((r) => setTimeout(r, 1_000));
      assert(!ended, "run exited on its own");
    } finally {
      run.child.kill("SIGTERM");
    }
    const { code, stderr } = await run.exit();
    assertEquals(code, 0, stderr);
  });
});
