// The scheduler sources against a real gRPC scheduler double on loopback.

import { status } from "@grpc/grpc-js";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "./assert.ts";
import { collect } from "../src/collect/collector.ts";
import {
  openScheduler,
  type SchedulerTls,
  withRetries,
} from "../src/collect/scheduler_client.ts";
import { schedulerSources } from "../src/collect/scheduler_sources.ts";
import type { MetricsLevel } from "../src/config/levels.ts";
import { type Certs, generateCerts } from "./fixtures/certs.ts";
import {
  type Call,
  type DoubleTls,
  type Fault,
  type Rpc,
  SAMPLE_COUNTS,
  sampleScenario,
  type Scenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";
import { REFUSING_PORT } from "./fixtures/refused.ts";

const FAST_RETRY = { baseDelayMs: 10, maxAttempts: 3 };

async function collectFrom(
  port: number,
  options: { level?: MetricsLevel; timeoutMs?: number; tls?: SchedulerTls } =
    {},
) {
  const level = options.level ?? "feature";
  // With TLS, a name its certificate holds (addresses: scheduler_tls_test.ts).
  const host = options.tls ? "localhost" : "127.0.0.1";
  const client = openScheduler({ host, port, tls: options.tls });
  try {
    const sources = schedulerSources(client, {
      level,
      timeoutMs: options.timeoutMs ?? 5_000,
      retry: FAST_RETRY,
    });
    return await collect(sources, { level, giveUpAfterMs: 10_000 });
  } finally {
    client.close();
  }
}

async function withDouble<T>(
  scenario: Scenario,
  fn: (port: number, calls: Call[]) => T,
  tls?: DoubleTls,
): Promise<Awaited<T>> {
  const double = await startSchedulerDouble(scenario, { tls });
  try {
    return await fn(double.port, double.calls);
  } finally {
    await double.close();
  }
}

const withFault = (rpc: Rpc, fault: Fault): Scenario => ({
  ...sampleScenario(),
  faults: { [rpc]: fault },
});

const { seldon_core_version: _, ...STREAMED_COUNTS } = SAMPLE_COUNTS;

Deno.test("every scheduler metric of the sample cluster, asked as hodometer", async () => {
  await withDouble(sampleScenario(), async (port, calls) => {
    const c = await collectFrom(port);
    assertEquals(c.failures, []);
    for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
      assertEquals(c.snapshot[name as keyof typeof c.snapshot], value, name);
    }
    assertEquals(calls.map((c) => c.rpc).sort(), [
      "experimentStatus",
      "modelStatus",
      "pipelineStatus",
      "schedulerStatus",
      "serverStatus",
    ]);
    assert(calls.every((c) => c.subscriberName === "hodometer"));
    // Latest versions only, as Go asks (collect.go:317-321, 424-427).
    for (const c of calls) {
      const versioned = c.rpc === "modelStatus" || c.rpc === "pipelineStatus";
      assertEquals(c.allVersions, versioned ? false : undefined, c.rpc);
    }
  });
});

Deno.test("at the cluster level only the scheduler status is asked", async () => {
  await withDouble(sampleScenario(), async (port, calls) => {
    const c = await collectFrom(port, { level: "cluster" });
    assertEquals(calls.map((c) => c.rpc), ["schedulerStatus"]);
    assertEquals(c.snapshot.seldon_core_version, "2.8.0");
    assertEquals(c.snapshot.model_count, undefined);
  });
});

Deno.test("a scheduler that is down: every scheduler metric absent, each source named", async () => {
  const port = REFUSING_PORT;
  const c = await collectFrom(port);
  assertEquals(c.failures.length, 5);
  for (
    const name of ["status", "servers", "models", "pipelines", "experiments"]
  ) {
    const failure = c.failures.find((f) => f.startsWith(`scheduler ${name}:`));
    assert(failure !== undefined, name);
    assertStringIncludes(failure, "UNAVAILABLE");
    assertStringIncludes(failure, "after 3 attempts");
  }
  for (const name of Object.keys(SAMPLE_COUNTS)) {
    assertEquals(c.snapshot[name as keyof typeof c.snapshot], undefined, name);
  }
});

Deno.test("a stream failing mid-way loses only its own metric, never a partial count", async () => {
  const scenario = withFault("modelStatus", {
    kind: "status",
    code: status.INTERNAL,
    details: "boom",
    afterMessages: 2,
  });
  await withDouble(scenario, async (port) => {
    const c = await collectFrom(port);
    assertEquals(c.snapshot.model_count, undefined);
    assertEquals(c.failures, [
      "scheduler models: INTERNAL: boom; model_count omitted",
    ]);
    for (const [name, value] of Object.entries(STREAMED_COUNTS)) {
      if (name === "model_count") continue;
      assertEquals(c.snapshot[name as keyof typeof c.snapshot], value, name);
    }
  });
});

Deno.test("an rpc slower than the deadline fails with DEADLINE_EXCEEDED; the rest arrive", async () => {
  const scenario = withFault("pipelineStatus", { kind: "delay", ms: 20_000 });
  await withDouble(scenario, async (port) => {
    const started = Date.now();
    const c = await collectFrom(port, { timeoutMs: 300 });
    // Bounded by the deadline, not the 20 s delay (a hang guard, not a timing goal).
    assert(Date.now() - started < 10_000);
    assertEquals(c.snapshot.pipeline_count, undefined);
    assertMatch(c.failures.join(), /^scheduler pipelines: DEADLINE_EXCEEDED/);
    assertEquals(c.snapshot.model_count, SAMPLE_COUNTS.model_count);
  });
});

Deno.test("an undecodable message and an oversized one fail their source only", async () => {
  for (
    const [fault, code] of [
      [{ kind: "garbage", afterMessages: 1 }, "INTERNAL"],
      [{
        kind: "oversize",
        afterMessages: 1,
        bytes: 5 * 1024 * 1024,
      }, "RESOURCE_EXHAUSTED"],
    ] as const
  ) {
    await withDouble(withFault("experimentStatus", fault), async (port) => {
      const c = await collectFrom(port);
      assertEquals(c.snapshot.experiment_count, undefined, fault.kind);
      assertMatch(
        c.failures.join(),
        new RegExp(`^scheduler experiments: ${code}`),
      );
      assertEquals(c.snapshot.server_count, SAMPLE_COUNTS.server_count);
    });
  }
});

Deno.test("a non-version applicationVersion is omitted with a warning", async () => {
  const scenario = {
    ...sampleScenario(),
    version: "build on db.internal.corp",
  };
  await withDouble(scenario, async (port) => {
    const c = await collectFrom(port, { level: "cluster" });
    assertEquals(c.snapshot.seldon_core_version, undefined);
    assertStringIncludes(c.warnings.join(), "seldon_core_version omitted");
  });
});

Deno.test("retries: only UNAVAILABLE, with backoff doubling from the base, bounded", async () => {
  const unavailable = Object.assign(new Error("down"), {
    code: status.UNAVAILABLE,
    details: "down",
    metadata: undefined as never,
  });
  const slept: number[] = [];
  const sleep = (ms: number) => {
    slept.push(ms);
    return Promise.resolve();
  };
  let n = 0;
  const ok = await withRetries(
    () => Promise.resolve(++n < 3 ? unavailable : null),
    { deadline: Date.now() + 60_000, sleep, baseDelayMs: 100 },
    new AbortController().signal,
  );
  assertEquals(ok, { ok: true, attempts: 3 });
  assertEquals(slept, [100, 200]);

  const denied = { ...unavailable, code: status.PERMISSION_DENIED };
  const once = await withRetries(
    () => Promise.resolve(denied),
    { deadline: Date.now() + 60_000, sleep },
    new AbortController().signal,
  );
  assertEquals(once, {
    ok: false,
    attempts: 1,
    status: "PERMISSION_DENIED",
    details: "down",
  });

  const bounded = await withRetries(
    () => Promise.resolve(unavailable),
    { deadline: Date.now() + 60_000, sleep, maxAttempts: 4 },
    new AbortController().signal,
  );
  assertEquals(bounded.attempts, 4);
  const pastDeadline = await withRetries(
    () => Promise.resolve(unavailable),
    { deadline: Date.now() + 50, sleep, baseDelayMs: 100 },
    new AbortController().signal,
  );
  assertEquals(pastDeadline.attempts, 1);
});

let certs: Certs | undefined;
async function testCerts(): Promise<Certs> {
  if (!certs) certs = await generateCerts(await Deno.makeTempDir());
  return certs;
}

Deno.test("TLS with the scheduler's CA, and mTLS with a client certificate", async () => {
  const c = await testCerts();
  const serverTls = { caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem };
  await withDouble(sampleScenario(), async (port) => {
    const got = await collectFrom(port, { tls: { ca: c.caPem } });
    assertEquals(got.failures, []);
    assertEquals(got.snapshot.model_count, SAMPLE_COUNTS.model_count);
  }, serverTls);
  await withDouble(sampleScenario(), async (port) => {
    const mtls = { ca: c.caPem, cert: c.clientCertPem, key: c.clientKeyPem };
    const got = await collectFrom(port, { tls: mtls });
    assertEquals(got.failures, []);
    assertEquals(got.snapshot.server_count, SAMPLE_COUNTS.server_count);
    const noClientCert = await collectFrom(port, {
      level: "cluster",
      tls: { ca: c.caPem },
    });
    assertEquals(noClientCert.snapshot.seldon_core_version, undefined);
    assertMatch(noClientCert.failures.join(), /^scheduler status: UNAVAILABLE/);
  }, { ...serverTls, requireClientCert: true });
});

Deno.test("a scheduler certificate from another CA is refused, saying why", async () => {
  const c = await testCerts();
  const other = await generateCerts(await Deno.makeTempDir());
  await withDouble(sampleScenario(), async (port) => {
    const got = await collectFrom(port, {
      level: "cluster",
      tls: { ca: other.caPem },
    });
    assertEquals(got.snapshot.seldon_core_version, undefined);
    assertMatch(got.failures.join(), /^scheduler status: UNAVAILABLE/);
    assertMatch(got.failures.join(), /certificate|self.signed|verify/i);
  }, { caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem });
  await Deno.remove(other.dir, { recursive: true });
});

Deno.test("cleanup test certificates", async () => {
  if (certs) await Deno.remove(certs.dir, { recursive: true });
  assert(true);
});
