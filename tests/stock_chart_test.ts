// hodometer as a drop-in for the stock Seldon Helm chart: its environment
// unchanged (four TLS files it never mounts, both secret names, PLAINTEXT),
// with the binary's permissions and flags, publishing to a loopback receiver.

import { assert, assertEquals, assertStringIncludes, nth } from "./assert.ts";
import { hodometer, spawnHodometer } from "./fixtures/hodometer_process.ts";
import {
  container,
  seldonRuntime,
  server,
  serverConfig,
  withKubeDouble,
} from "./fixtures/kube_double.ts";
import { startTrackSink } from "./fixtures/track_sink.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import {
  SAMPLE_COUNTS,
  sampleScenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";
import { readEnvFile, STOCK_CHART_ENV } from "./fixtures/env_file.ts";

Deno.test("stock chart: run --once with its environment unchanged publishes one event with the scenario's counts", async () => {
  const stock = await readEnvFile(STOCK_CHART_ENV);
  const scheduler = await startSchedulerDouble(sampleScenario());
  const receiver = await startReceiverProcess({
    args: ["--record-level", "all"],
    env: { STORE: ":memory:" },
  });
  try {
    const r = await hodometer(["run", "--once"], {
      ...stock,
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PLAINTXT_PORT: String(scheduler.port),
      POD_NAMESPACE: "seldon-mesh",
      // Never Seldon's real endpoint from a test.
      PUBLISH_URL: receiver.url,
    });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "delivered to 1 of 1 URL(s)");
    // Nothing TLS-related was read or complained about.
    assertEquals(
      /TLS|certs|\[(WRN|ERR|FTL)\]/i.test(r.stderr),
      false,
      r.stderr,
    );
    const events = await (await fetch(`${receiver.url}/events`)).json();
    assertEquals(events.length, 1);
    const p = events[0].properties;
    for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
      assertEquals(p[name], value, name);
    }
    assertEquals(p.is_kubernetes, false);
  } finally {
    await receiver.stop();
    await scheduler.close();
  }
});

Deno.test("stock chart in a pod under its Role (secrets only): publishes every cycle; what the Role costs is said once", async () => {
  const stock = await readEnvFile(STOCK_CHART_ENV);
  await withKubeDouble(async (h) => {
    const ns = h.namespace;
    h.double.rbac = { kind: "stock role", namespace: ns };
    h.double.nodeNames = ["n1", "n2"];
    h.double.seldonRuntimes = [seldonRuntime(ns)];
    h.double.serverConfigs = [serverConfig(ns, "mlserver", [
      container("server", "seldonio/mlserver:1.6.0", { limits: { cpu: "1" } }),
    ])];
    h.double.servers = [server(ns, "s", { serverConfig: "mlserver" })];
    const scheduler = await startSchedulerDouble(sampleScenario());
    const sink = startTrackSink();
    const stateDir = `${h.dir}/state`;
    const run = spawnHodometer(["run", "--interval", "1s"], {
      ...stock,
      ...h.double.podEnv(),
      KUBERNETES_SERVICEACCOUNT_DIR: h.serviceAccountDir,
      POD_NAMESPACE: ns,
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PLAINTXT_PORT: String(scheduler.port),
      PUBLISH_URL: sink.url,
      STATE_DIR: stateDir,
    });
    try {
      await run.waitFor(/cycle 3: event/, 30_000);
    } finally {
      run.child.kill("SIGTERM");
    }
    const { code, stderr } = await run.exit();
    await sink.close();
    await scheduler.close();
    assertEquals(code, 0, stderr);

    const events = sink.requests.map((r) => r.event!.properties);
    assert(events.length >= 3, `${events.length} events`);
    for (const p of events) {
      for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
        assertEquals(p[name], value, name);
      }
      assertEquals(p.is_kubernetes, true);
      assertEquals(p.kubernetes_version, "v1.30.2");
      for (
        const lost of [
          "node_count",
          "is_global_installation",
          "gpu_enabled_count",
          "inference_server_name",
          "server_cpu_cores_sum",
        ]
      ) {
        assertEquals(p[lost], undefined, lost);
      }
    }
    // The id is kept in the state file, the same in every cycle.
    const id = (await Deno.readTextFile(`${stateDir}/cluster_id`)).trim();
    assert(events.every((p) => p.distinct_id === id));

    // One summary, once; no other warning about it in any cycle.
    const summary = stderr.split("\n").filter((l) => l.includes("may not"));
    assertEquals(summary.length, 1, stderr);
    for (
      const part of [
        "[WRN]",
        "list nodes (cluster-wide)",
        "list seldonruntimes.mlops.seldon.io (cluster-wide)",
        `list serverconfigs.mlops.seldon.io (in namespace ${ns})`,
        `get configmaps "hodometer" (in namespace ${ns})`,
        "node_count omitted",
        "is_global_installation omitted",
        "server_cpu_cores_sum omitted",
        `state file ${stateDir}/cluster_id instead of ConfigMap hodometer`,
        "deploy/kubernetes/role.yaml",
        "deploy/kubernetes/cluster-access.yaml",
      ]
    ) {
      assertStringIncludes(nth(summary, 0), part);
    }
    const warnings = stderr.split("\n").filter((l) =>
      l.includes("[WRN]") && /kubernetes|forbidden/.test(l)
    );
    assertEquals(warnings, summary, stderr);
  });
});
