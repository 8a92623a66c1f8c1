// Fault suite, scheduler side: the scheduler killed in the middle of a
// collection and restarted on the same port, and TLS handshakes that cannot
// succeed. Each collection must end (no hang), name the failed sources with a
// gRPC status, and the next collection against a healthy scheduler must be
// complete. (Down, mid-stream errors, deadlines, garbage and oversized
// messages, and a wrong CA are in scheduler_client_test.ts.)

import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import { collect, type Collection } from "../src/collect/collector.ts";
import {
  openScheduler,
  type SchedulerClient,
  type SchedulerTls,
} from "../src/collect/scheduler_client.ts";
import { schedulerSources } from "../src/collect/scheduler_sources.ts";
import { generateCerts } from "./fixtures/certs.ts";
import { startDyingScheduler } from "./fixtures/dying_scheduler.ts";
import {
  type DoubleTls,
  SAMPLE_COUNTS,
  sampleScenario,
  type Scenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";

const SOURCE_TIMEOUT_MS = 1_500;
const GIVE_UP_MS = 4_000;
const FAST_RETRY = { baseDelayMs: 10, maxAttempts: 3 };
/** A hang guard, well above GIVE_UP_MS: the collector must never get near it. */
const HANG_GUARD_MS = GIVE_UP_MS + 2_000;

const SOURCE_NAMES = [
  "scheduler status",
  "scheduler servers",
  "scheduler models",
  "scheduler pipelines",
  "scheduler experiments",
];

/** Which metrics each scheduler source measures in the sample cluster. */
const METRICS_OF: Record<string, (keyof typeof SAMPLE_COUNTS)[]> = {
  "scheduler status": ["seldon_core_version"],
  "scheduler servers": [
    "server_count",
    "server_replica_count",
    "multimodel_enabled_count",
    "overcommit_enabled_count",
    "server_memory_gb_sum",
  ],
  "scheduler models": ["model_count"],
  "scheduler pipelines": ["pipeline_count"],
  "scheduler experiments": ["experiment_count"],
};

/** One collection through `client`, with a hang guard around it. */
async function collectWith(client: SchedulerClient): Promise<Collection> {
  const sources = schedulerSources(client, {
    level: "feature",
    timeoutMs: SOURCE_TIMEOUT_MS,
    retry: FAST_RETRY,
  });
  let guard: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    guard = setTimeout(
      () =>
        reject(new Error(`collection still running after ${HANG_GUARD_MS} ms`)),
      HANG_GUARD_MS,
    );
  });
  try {
    return await Promise.race([
      collect(sources, { level: "feature", giveUpAfterMs: GIVE_UP_MS }),
      hung,
    ]);
  } finally {
    clearTimeout(guard);
  }
}

async function collectOnce(
  port: number,
  tls?: SchedulerTls,
): Promise<Collection> {
  // With TLS the host must be a name the certificate holds.
  const host = tls ? "localhost" : "127.0.0.1";
  const client = openScheduler({ host, port, tls });
  try {
    return await collectWith(client);
  } finally {
    client.close();
  }
}

/** Every failure names one scheduler source and a gRPC status. */
function assertNamedFailures(c: Collection): string[] {
  const failed: string[] = [];
  for (const failure of c.failures) {
    const m = /^(scheduler \w+): ([A-Z_]+): /.exec(failure);
    assert(m !== null, `failure without source and status: ${failure}`);
    assert(SOURCE_NAMES.includes(nth(m, 1)), `unknown source in: ${failure}`);
    failed.push(nth(m, 1));
  }
  return failed;
}

/** Failed sources report nothing; the others report the sample counts. */
function assertOnlyFailedAbsent(c: Collection, failed: string[]) {
  for (const [source, metrics] of Object.entries(METRICS_OF)) {
    for (const metric of metrics) {
      const expected = failed.includes(source)
        ? undefined
        : SAMPLE_COUNTS[metric];
      assertEquals(c.snapshot[metric], expected, `${source}: ${metric}`);
    }
  }
}

function assertComplete(c: Collection, what: string) {
  assertEquals(c.failures, [], what);
  for (const [metric, value] of Object.entries(SAMPLE_COUNTS)) {
    assertEquals(
      c.snapshot[metric as keyof typeof SAMPLE_COUNTS],
      value,
      `${what}: ${metric}`,
    );
  }
}

/** The sample cluster whose scheduler dies after sending 2 models. */
const killedMidModels = (): Scenario => ({
  ...sampleScenario(),
  faults: { modelStatus: { kind: "kill", afterMessages: 2 } },
});

/**
 * Kills the scheduler in the middle of a collection, restarts it on the same
 * port, collects again. `kept`: one client for both cycles (its channel saw
 * the connection die); otherwise a client per cycle, as the run loop does.
 */
async function killThenRestart(kept: boolean) {
  const first = await startSchedulerDouble(killedMidModels());
  const port = first.port;
  const keptClient = kept
    ? openScheduler({ host: "127.0.0.1", port })
    : undefined;
  const cycle = () => keptClient ? collectWith(keptClient) : collectOnce(port);
  let second: Awaited<ReturnType<typeof startSchedulerDouble>> | undefined;
  try {
    const started = Date.now();
    const killed = await cycle();
    assert(Date.now() - started < HANG_GUARD_MS);
    assertEquals(first.sent.modelStatus, 2, "the kill came after 2 models");

    const failed = assertNamedFailures(killed);
    assert(failed.includes("scheduler models"), killed.failures.join("\n"));
    assertMatch(
      killed.failures.find((f) => f.startsWith("scheduler models:"))!,
      /^scheduler models: [A-Z_]+: \S/,
    );
    // A stream cut off after 2 of 4 models never yields a partial count.
    assertOnlyFailedAbsent(killed, failed);

    second = await startSchedulerDouble(sampleScenario(), { port });
    assertEquals(second.port, port, "restarted on the same port");
    assertComplete(await cycle(), "the cycle after the restart");
  } finally {
    keptClient?.close();
    await second?.close();
    await first.close();
  }
}

Deno.test("scheduler killed mid-collection: its sources fail by name, the cycle ends; restarted on the same port, the next cycle (new client) is complete", async () => {
  await killThenRestart(false);
});

Deno.test("scheduler killed and restarted: a client kept across both cycles recovers", async () => {
  await killThenRestart(true);
});

Deno.test("TLS handshake failures: a plaintext client to a TLS scheduler and a TLS client to a plaintext one fail by name, no hang", async () => {
  const certs = await generateCerts(await Deno.makeTempDir());
  const tls: DoubleTls = {
    caPem: certs.caPem,
    certPem: certs.certPem,
    keyPem: certs.keyPem,
  };
  try {
    const cases: [string, DoubleTls | undefined, SchedulerTls | undefined][] = [
      ["plaintext client, TLS scheduler", tls, undefined],
      ["TLS client, plaintext scheduler", undefined, { ca: certs.caPem }],
    ];
    for (const [what, serverTls, clientTls] of cases) {
      const double = await startSchedulerDouble(sampleScenario(), {
        tls: serverTls,
      });
      try {
        const started = Date.now();
        const c = await collectOnce(double.port, clientTls);
        assert(Date.now() - started < HANG_GUARD_MS, what);
        const failed = assertNamedFailures(c);
        assertEquals(failed.sort(), [...SOURCE_NAMES].sort(), what);
        for (const failure of c.failures) {
          assertMatch(failure, /^scheduler \w+: UNAVAILABLE: \S/, what);
        }
        if (clientTls) {
          assertMatch(nth(c.failures, 0), /SSL|TLS|version/i, what);
        }
        assertOnlyFailedAbsent(c, failed);
        // Nothing was answered: the double never saw a call.
        assertEquals(double.calls, [], what);
      } finally {
        await double.close();
      }
    }
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("scheduler process SIGKILLed mid-stream: sources fail UNAVAILABLE by name; restarted on the same port, the next cycle is complete", async () => {
  const dying = await startDyingScheduler(2);
  let restarted: Awaited<ReturnType<typeof startSchedulerDouble>> | undefined;
  try {
    const started = Date.now();
    const killed = await collectOnce(dying.port);
    assert(Date.now() - started < HANG_GUARD_MS);
    assertEquals(await dying.dead, "SIGKILL", "it died mid-stream");

    const failed = assertNamedFailures(killed);
    assert(failed.includes("scheduler models"), killed.failures.join("\n"));
    for (const failure of killed.failures) {
      // The connection is gone and retrying finds nobody listening.
      assertMatch(failure, /^scheduler \w+: UNAVAILABLE: .*after 3 attempts/);
    }
    assertOnlyFailedAbsent(killed, failed);

    restarted = await startSchedulerDouble(sampleScenario(), {
      port: dying.port,
    });
    assertComplete(await collectOnce(dying.port), "after the restart");
  } finally {
    await restarted?.close();
    await dying.stop();
  }
});
