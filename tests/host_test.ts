// A host is a first-class place: with the binary's permissions and V8 flags,
// a kubeconfig at any path (KUBECONFIG, --kubeconfig, ~/.kube/config), a
// state directory and a receiver store wherever the user names them.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  nth,
} from "./assert.ts";
import { denoDir, hodometer } from "./fixtures/hodometer_process.ts";
import { startTrackSink } from "./fixtures/track_sink.ts";
import { EXIT } from "../src/exit_codes.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import {
  container,
  type KubeHarness,
  seldonRuntime,
  server,
  serverConfig,
  withKubeDouble,
} from "./fixtures/kube_double.ts";
import {
  SAMPLE_COUNTS,
  sampleScenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";

const KUBE_METRICS = {
  is_kubernetes: true,
  kubernetes_version: "v1.30.2",
  node_count: 2,
  is_global_installation: true,
  gpu_enabled_count: 1,
  inference_server_name: "MLServer",
  server_cpu_cores_sum: 1.5,
};

function populate(h: KubeHarness) {
  const d = h.double;
  d.nodeNames = ["worker-1", "worker-2"];
  d.seldonRuntimes = [seldonRuntime("team-a"), seldonRuntime("team-b")];
  d.serverConfigs = [serverConfig("team-a", "mlserver", [
    container("server", "seldonio/mlserver:1.6.0", {
      limits: { cpu: "750m", "nvidia.com/gpu": "1" },
    }),
  ])];
  d.servers = [
    server("team-a", "s", { serverConfig: "mlserver", replicas: 2 }),
  ];
}

/** `collect` as shipped, against the scheduler double, with `env` added. */
async function collect(env: Record<string, string>, args: string[] = []) {
  const scheduler = await startSchedulerDouble(sampleScenario());
  try {
    return await hodometer(["collect", "--compact", ...args], {
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PLAINTXT_PORT: String(scheduler.port),
      ...env,
    });
  } finally {
    await scheduler.close();
  }
}

function expectKubeMetrics(stdout: string) {
  const p = JSON.parse(stdout).properties;
  for (const [name, value] of Object.entries(KUBE_METRICS)) {
    assertEquals(p[name], value, name);
  }
  for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
    assertEquals(p[name], value, name);
  }
}

Deno.test("host: collect with a kubeconfig in a temporary folder (own CA, bearer token): every Kubernetes metric", async () => {
  await withKubeDouble(async (h) => {
    populate(h);
    const file = `${h.dir}/my cluster.yaml`;
    await Deno.writeTextFile(file, h.double.kubeconfig("team-a"));
    const r = await collect({ KUBECONFIG: file });
    assertEquals(r.code, 0, r.stderr);
    expectKubeMetrics(r.stdout);
    assert(
      h.double.requests.every((q) => q.authorization === "Bearer token-1"),
    );
    assertEquals(/\[(WRN|ERR)\]/.test(r.stderr), false, r.stderr);
  });
});

Deno.test("host: ~/.kube/config is used when HOME holds one, as kubectl does", async () => {
  await withKubeDouble(async (h) => {
    populate(h);
    const home = `${h.dir}/home`;
    await Deno.mkdir(`${home}/.kube`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/.kube/config`,
      h.double.kubeconfig("team-a"),
    );
    const r = await collect({ HOME: home, DENO_DIR: denoDir() });
    assertEquals(r.code, 0, r.stderr);
    expectKubeMetrics(r.stdout);
  });
});

Deno.test("host: a malformed ~/.kube/config is a warning and the Kubernetes metrics are omitted", async () => {
  const home = await Deno.makeTempDir({ prefix: "hodometer-home-" });
  try {
    await Deno.mkdir(`${home}/.kube`);
    await Deno.writeTextFile(`${home}/.kube/config`, "clusters: [unclosed");
    const r = await collect({ HOME: home, DENO_DIR: denoDir() });
    // Kubernetes could not be read: the event is printed, and says so by 3.
    assertEquals(r.code, EXIT.sourceFailed, r.stderr);
    const p = JSON.parse(r.stdout).properties;
    assertEquals(p.node_count, undefined);
    assertEquals(p.kubernetes_version, undefined);
    assertEquals(p.model_count, SAMPLE_COUNTS.model_count);
    assertMatch(
      r.stderr,
      /\[WRN\].*\.kube\/config is not a valid kubeconfig.*Kubernetes metrics omitted/,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("host: a named kubeconfig that is missing or malformed is exit 2 naming it and why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-kc-" });
  try {
    const missing = await hodometer(["collect", "--kubeconfig", `${dir}/nope`]);
    assertEquals(missing.code, 2, missing.stderr);
    assertEquals(missing.stdout, "");
    assertStringIncludes(
      missing.stderr,
      `hodometer collect: kubernetes: cannot use kubeconfig ${dir}/nope: ${dir}/nope does not exist (named by --kubeconfig)`,
    );
    await Deno.writeTextFile(`${dir}/bad`, "apiVersion: v1\nkind: Config\n");
    const bad = await hodometer(["run", "--once"], {
      KUBECONFIG: `${dir}/bad`,
    });
    assertEquals(bad.code, 2, bad.stderr);
    assertStringIncludes(
      bad.stderr,
      `hodometer run: kubernetes: cannot use kubeconfig ${dir}/bad: it sets no current-context (named by KUBECONFIG)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("host: an exec credential plugin cannot run in the binary: exit 2 naming the command and the alternatives", async () => {
  await withKubeDouble(async (h) => {
    const config = JSON.parse(h.double.kubeconfig());
    config.users = [{
      name: "cloud-user",
      user: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "gke-gcloud-auth-plugin",
          interactiveMode: "Never",
        },
      },
    }];
    config.contexts[0].context.user = "cloud-user";
    const file = `${h.dir}/gke`;
    await Deno.writeTextFile(file, JSON.stringify(config));
    const r = await hodometer(["collect"], { KUBECONFIG: file });
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(
      r.stderr,
      'user "cloud-user" gets its credentials by running "gke-gcloud-auth-plugin"',
    );
    assertStringIncludes(r.stderr, "may not start programs");
    assertStringIncludes(r.stderr, "a token");
    assertStringIncludes(r.stderr, "client certificate");
  });
});

Deno.test("host: insecure-skip-tls-verify works as shipped, with a warning that the certificate is not verified", async () => {
  await withKubeDouble(async (h) => {
    populate(h);
    const config = JSON.parse(h.double.kubeconfig("team-a"));
    config.clusters[0].cluster = {
      server: h.double.url.replace("127.0.0.1", "localhost"),
      "insecure-skip-tls-verify": true,
    };
    const file = `${h.dir}/kind-config`;
    await Deno.writeTextFile(file, JSON.stringify(config));
    const r = await collect({}, ["--kubeconfig", file]);
    assertEquals(r.code, 0, r.stderr);
    expectKubeMetrics(r.stdout);
    const warnings = r.stderr.split("\n").filter((l) => l.includes("[WRN]"));
    assertEquals(warnings.length, 1, r.stderr);
    assertStringIncludes(
      nth(warnings, 0),
      "the API server's certificate is not verified",
    );
  });
});

Deno.test("host: a state directory anywhere the user names it holds the cluster id", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-host-" });
  try {
    const stateDir = `${dir}/my state/hodometer`;
    // A dry run keeps nothing; publishing keeps the id, as `run` does.
    const sink = startTrackSink();
    const first = await collect({ PUBLISH_URL: sink.url }, [
      "--publish",
      "--state-dir",
      stateDir,
    ]).finally(() => sink.close());
    assertEquals(first.code, 0, first.stderr);
    const id = (await Deno.readTextFile(`${stateDir}/cluster_id`)).trim();
    assertEquals(JSON.parse(first.stdout).properties.distinct_id, id);
    const again = await collect({ STATE_DIR: stateDir });
    assertEquals(JSON.parse(again.stdout).properties.distinct_id, id);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("host: the receiver's --store anywhere the user names it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-store-" });
  const store = `${dir}/my events/events.db`;
  await Deno.mkdir(`${dir}/my events`);
  const receiver = await startReceiverProcess({
    args: ["--record-level", "all", "--store", store],
  });
  try {
    const event = {
      event: "collect metrics",
      properties: {
        token: "t",
        distinct_id: "0f8fad5b-d9cb-469f-a165-70867728950e",
        time: 1_700_000_000,
        $insert_id: "host-store-1",
      },
    };
    const res = await fetch(`${receiver.url}/track?verbose=1`, {
      method: "POST",
      body: JSON.stringify(event),
    });
    assertEquals(await res.json(), { status: 1, error: "" });
  } finally {
    const exit = await receiver.stop();
    assertEquals(exit.code, 0, exit.stderr);
  }
  try {
    assert((await Deno.stat(store)).size > 0);
    // Stored durably: a new receiver on the same file has the event.
    const again = await startReceiverProcess({
      args: ["--record-level", "all", "--store", store],
    });
    try {
      const events = await (await fetch(`${again.url}/events`)).json();
      assertEquals(
        events.map((e: { properties: { $insert_id: string } }) =>
          e.properties.$insert_id
        ),
        ["host-store-1"],
      );
    } finally {
      await again.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
