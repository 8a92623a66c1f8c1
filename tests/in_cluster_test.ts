// hodometer inside a pod: the Kubernetes API double (service-account token
// and CA) plus the scheduler double over mTLS whose certificates come from
// Kubernetes secrets, with `hodometer collect` and `run --once` as processes.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import {
  container,
  type KubeHarness,
  seldonRuntime,
  server,
  serverConfig,
  withKubeDouble,
} from "./fixtures/kube_double.ts";
import {
  HOSTILE_NAMES,
  SAMPLE_COUNTS,
  sampleScenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";

const b64 = (s: string) => btoa(s);

async function inCluster(
  fn: (h: KubeHarness, env: Record<string, string>) => Promise<void>,
) {
  await withKubeDouble(async (h) => {
    const ns = h.namespace;
    const d = h.double;
    d.nodeNames = ["10.0.0.1", "db.internal.corp", "node-3"];
    d.seldonRuntimes = [seldonRuntime(ns), seldonRuntime("team-b")];
    d.serverConfigs = [
      serverConfig(ns, "mlserver", [
        container("server", "seldonio/mlserver:1.6.0", {
          limits: { cpu: "2", "nvidia.com/gpu": "1" },
        }),
      ]),
      serverConfig(ns, "triton", [
        container("server", "nvcr.io/nvidia/tritonserver:24.04-py3", {
          requests: { cpu: "500m" },
        }),
      ]),
    ];
    d.servers = [
      server(ns, HOSTILE_NAMES[3], { serverConfig: "mlserver", replicas: 2 }),
      server(ns, HOSTILE_NAMES[0], { serverConfig: "triton" }),
    ];
    const read = (f: string) => Deno.readTextFile(`${h.dir}/${f}`);
    d.secrets.set(`${ns}/client-tls`, {
      data: {
        "tls.crt": b64(await read("client.crt")),
        "tls.key": b64(await read("client.key")),
      },
    });
    d.secrets.set(`${ns}/server-tls`, {
      data: { "ca.crt": b64(await read("ca.crt")) },
    });
    const scheduler = await startSchedulerDouble(sampleScenario(), {
      tls: {
        caPem: await read("ca.crt"),
        certPem: await read("server.crt"),
        keyPem: await read("server.key"),
        requireClientCert: true,
      },
    });
    try {
      await fn(h, {
        ...d.podEnv(),
        KUBERNETES_SERVICEACCOUNT_DIR: h.serviceAccountDir,
        POD_NAMESPACE: ns,
        SCHEDULER_HOST: "localhost",
        SCHEDULER_TLS_PORT: String(scheduler.port),
        CONTROL_PLANE_SECURITY_PROTOCOL: "SSL",
        CONTROL_PLANE_CLIENT_TLS_SECRET_NAME: "client-tls",
        CONTROL_PLANE_SERVER_TLS_SECRET_NAME: "server-tls",
      });
    } finally {
      await scheduler.close();
    }
  });
}

Deno.test("in a pod: every metric, scheduler over mTLS from secrets, id in the ConfigMap", async () => {
  await inCluster(async (h, env) => {
    // A dry run creates no ConfigMap; it says where run would keep the id.
    const dry = await hodometer(["collect", "--compact"], env);
    assertEquals(dry.code, 0, dry.stderr);
    assertEquals(h.double.configMaps.size, 0);
    assertStringIncludes(
      dry.stderr,
      `keeps it in ConfigMap hodometer in namespace ${h.namespace}`,
    );
    // Publishing keeps it, as run does (nowhere to publish to here).
    const r = await hodometer(["collect", "--compact", "--publish"], {
      ...env,
      DO_NOT_TRACK: "1",
    });
    assertEquals(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout).properties;
    for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
      assertEquals(p[name], value, name);
    }
    assertEquals(p.is_kubernetes, true);
    assertEquals(p.kubernetes_version, "v1.30.2");
    assertEquals(p.node_count, 3);
    assertEquals(p.is_global_installation, true);
    assertEquals(p.gpu_enabled_count, 1);
    assertEquals(p.inference_server_name, "MLServer,Triton");
    assertEquals(p.server_cpu_cores_sum, 2 * 2 + 0.5);
    const cm = h.double.configMaps.get(`${h.namespace}/hodometer`) as {
      data: { cluster_id: string };
    };
    assertEquals(p.distinct_id, cm.data.cluster_id);
    for (const name of HOSTILE_NAMES) {
      assert(!r.stdout.includes(name), `the event holds ${name}`);
    }
    // A later dry run reads the ConfigMap's id.
    const again = await hodometer(["collect", "--compact"], env);
    assertEquals(
      JSON.parse(again.stdout).properties.distinct_id,
      p.distinct_id,
    );
  });
});

Deno.test("in a pod without RBAC for nodes or secrets: only those metrics are lost, each said once", async () => {
  await inCluster(async (h, env) => {
    h.double.faults.set("nodes", 403);
    h.double.faults.set("secrets.get", 403);
    const r = await hodometer(["collect", "--compact"], env);
    // the event is printed; the sources lost make collect's status 3
    assertEquals(r.code, 3, r.stderr);
    const p = JSON.parse(r.stdout).properties;
    assertEquals(p.node_count, undefined);
    assertEquals(p.model_count, undefined);
    assertEquals(p.kubernetes_version, "v1.30.2");
    assertEquals(p.gpu_enabled_count, 1);
    assert(/nodes/.test(r.stderr) && /secret/.test(r.stderr), r.stderr);
  });
});
