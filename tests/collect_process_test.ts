// `hodometer collect` and `hodometer metrics` as real processes, against the
// scheduler double on loopback.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  nth,
} from "./assert.ts";
import { CATALOGUE, includedAt } from "../src/metrics/catalogue.ts";
import { METRICS_LEVELS } from "../src/config/levels.ts";
import { EXIT } from "../src/exit_codes.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import {
  HOSTILE_NAMES,
  SAMPLE_COUNTS,
  sampleScenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";
import { REFUSING_PORT } from "./fixtures/refused.ts";

const CLUSTER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const ENVELOPE = ["token", "distinct_id", "time", "$insert_id", "ip"];

async function collectAgainstDouble(args: string[]) {
  const double = await startSchedulerDouble(sampleScenario());
  try {
    return await hodometer(["collect", ...args], {
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PORT: String(double.port),
      CLUSTER_ID,
    });
  } finally {
    await double.close();
  }
}

for (const level of METRICS_LEVELS) {
  Deno.test(`collect --level ${level}: every property of the level, none above`, async () => {
    const r = await collectAgainstDouble(["--level", level]);
    assertEquals(r.code, 0, r.stderr);
    const event = JSON.parse(r.stdout);
    assertEquals(event.event, "collect metrics");
    const p = event.properties;
    // Not in Kubernetes: its metrics are absent, is_kubernetes is false.
    const expected = CATALOGUE
      .filter((m) => includedAt(m, level))
      .filter((m) => m.source !== "kubernetes" || m.name === "is_kubernetes")
      .map((m) => m.name);
    assertEquals(Object.keys(p).sort(), [...ENVELOPE, ...expected].sort());
    assertEquals(p.distinct_id, CLUSTER_ID);
    assertEquals(p.cluster_id, CLUSTER_ID);
    assertEquals(p.ip, "0");
    assertEquals(p.is_kubernetes, false);
    assertEquals(p.token, "e943e8a2ebd1352338ecac1f9fde8c7c");
    assertMatch(p.$insert_id, /^[A-Za-z0-9-]{1,36}$/);
    assert(Math.abs(p.time - Date.now() / 1000) < 600);
    for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
      if (expected.includes(name)) assertEquals(p[name], value, name);
    }
  });
}

Deno.test("privacy: no name or address of the cluster appears in the event", async () => {
  const r = await collectAgainstDouble(["--compact"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim().split("\n").length, 1);
  for (const name of HOSTILE_NAMES) {
    assert(!r.stdout.includes(name), `the event holds ${name}`);
  }
  assert(!/\d+\.\d+\.\d+\.\d+/.test(r.stdout), "an IPv4-like string");
  // The scheduler says 2.8.0-customer-churn-model: only the version is kept.
  assertEquals(JSON.parse(r.stdout).properties.seldon_core_version, "2.8.0");
});

Deno.test("a scheduler that is down: exit 3, the event printed without its metrics, the logs say why", async () => {
  const port = REFUSING_PORT;
  const r = await hodometer(["collect"], {
    SCHEDULER_HOST: "127.0.0.1",
    SCHEDULER_PORT: String(port),
    // Long enough for every source to make all its attempts (3.1 s of
    // backoff), so each fails with the same cause, however busy the machine.
    SCHEDULER_TIMEOUT: "10s",
  });
  assertEquals(r.code, EXIT.sourceFailed, r.stderr);
  assertEquals(EXIT.sourceFailed, 3);
  const p = JSON.parse(r.stdout).properties;
  assertEquals(p.model_count, undefined);
  assertEquals(p.seldon_core_version, undefined);
  assertEquals(p.is_kubernetes, false);
  // One cause, one line, naming every source and every metric lost.
  const lines = r.stderr.split("\n").filter((l) => l.includes("UNAVAILABLE"));
  assertEquals(lines.length, 1, r.stderr);
  assertStringIncludes(
    nth(lines, 0),
    "scheduler status, servers, models, pipelines, experiments: UNAVAILABLE",
  );
  assertStringIncludes(nth(lines, 0), "model_count");
});

Deno.test("collect is a dry run: no state file is created, a temporary id is shown and said so", async () => {
  const double = await startSchedulerDouble(sampleScenario());
  const stateDir = await Deno.makeTempDir({ prefix: "hodometer-dry-" });
  try {
    const env = {
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PORT: String(double.port),
      STATE_DIR: `${stateDir}/nested`,
    };
    const r = await hodometer(["collect", "--compact"], env);
    assertEquals(r.code, 0, r.stderr);
    const id = JSON.parse(r.stdout).properties.distinct_id;
    assertMatch(id, /^[0-9a-f-]{36}$/);
    assertStringIncludes(
      r.stderr,
      `this dry run shows a temporary one; \`hodometer run\` (or collect --publish) creates one and keeps it in ${stateDir}/nested/cluster_id`,
    );
    assertEquals([...Deno.readDirSync(stateDir)], [], "the dry run wrote");

    // An id that is kept is used, and left as it is.
    await Deno.mkdir(`${stateDir}/nested`);
    await Deno.writeTextFile(
      `${stateDir}/nested/cluster_id`,
      `${CLUSTER_ID}\n`,
    );
    const kept = await hodometer(["collect", "--compact"], env);
    assertEquals(kept.code, 0, kept.stderr);
    assertEquals(JSON.parse(kept.stdout).properties.distinct_id, CLUSTER_ID);
    assert(!kept.stderr.includes("temporary"), kept.stderr);
  } finally {
    await double.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a missing TLS file that SSL needs is a configuration error naming the variable and the path", async () => {
  const r = await hodometer(["collect"], {
    CONTROL_PLANE_SECURITY_PROTOCOL: "SSL",
    CONTROL_PLANE_SERVER_TLS_CA_LOCATION: "/nonexistent/ca.crt",
  });
  assertEquals(r.code, 2);
  assertEquals(r.stdout, "");
  assertStringIncludes(
    r.stderr,
    'CONTROL_PLANE_SERVER_TLS_CA_LOCATION="/nonexistent/ca.crt" is not valid: expected a readable file',
  );
});

Deno.test("with PLAINTEXT the TLS files are neither read nor checked", async () => {
  const double = await startSchedulerDouble(sampleScenario());
  try {
    const r = await hodometer(["collect", "--compact"], {
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PORT: String(double.port),
      CONTROL_PLANE_SECURITY_PROTOCOL: "PLAINTEXT",
      CONTROL_PLANE_SERVER_TLS_CA_LOCATION: "/nonexistent/ca.crt",
      CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION: "/nonexistent/tls.crt",
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      JSON.parse(r.stdout).properties.model_count,
      SAMPLE_COUNTS.model_count,
    );
  } finally {
    await double.close();
  }
});

Deno.test("metrics: a table of the whole catalogue, or JSON", async () => {
  const table = await hodometer(["metrics"]);
  assertEquals(table.code, 0);
  for (const m of CATALOGUE) {
    assertMatch(table.stdout, new RegExp(`^${m.name}\\s+${m.level}\\s`, "m"));
  }
  const json = await hodometer(["metrics", "--json"]);
  assertEquals(JSON.parse(json.stdout), JSON.parse(JSON.stringify(CATALOGUE)));
});

Deno.test('a CLUSTER_ID that is not a UUID is warned about as given, braces and all (not as "undefined")', async () => {
  const double = await startSchedulerDouble(sampleScenario());
  try {
    for (const format of ["text", "json"]) {
      const r = await hodometer(["collect", "--compact"], {
        SCHEDULER_HOST: "127.0.0.1",
        SCHEDULER_PORT: String(double.port),
        CLUSTER_ID: "{not-a-uuid}",
        LOG_FORMAT: format,
      });
      assertEquals(r.code, 0, r.stderr);
      const line = r.stderr.split("\n").find((l) => l.includes("CLUSTER_ID"));
      assert(line !== undefined, r.stderr);
      assertStringIncludes(line, "{not-a-uuid}");
      assertStringIncludes(line, "{...}");
      assert(!line.includes("undefined"), line);
    }
  } finally {
    await double.close();
  }
});
