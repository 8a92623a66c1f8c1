// The in-cluster path end to end against the Kubernetes API double: the same
// variables and files a pod has, our own fetch client, every metric.

import { assert, assertEquals, assertMatch, leading, nth } from "./assert.ts";
import {
  container,
  type KubeDouble,
  type KubeHarness,
  seldonRuntime,
  server,
  serverConfig,
  withKubeDouble,
} from "./fixtures/kube_double.ts";
import { type KubeAccess, openKubernetes } from "../src/kube/access.ts";
import {
  kubernetesSources,
  type KubeSourceOptions,
} from "../src/kube/sources.ts";
import type { Snapshot } from "../src/metrics/catalogue.ts";
import type { Denial } from "../src/metrics/source.ts";

interface Collected {
  snapshot: Snapshot;
  errors: string[];
  warnings: string[];
  denials: Denial[];
}

/** Reads every source concurrently, as the collector does. */
async function collect(
  access: KubeAccess,
  options: KubeSourceOptions = {},
  signal = new AbortController().signal,
): Promise<Collected> {
  const results = await Promise.all(
    kubernetesSources(access, options).map((s) => s.read(signal)),
  );
  const out: Collected = {
    snapshot: {},
    errors: [],
    warnings: [],
    denials: [],
  };
  for (const r of results) {
    Object.assign(out.snapshot, r.snapshot);
    if (r.error) out.errors.push(r.error);
    out.warnings.push(...(r.warnings ?? []));
    out.denials.push(...(r.denials ?? []));
  }
  return out;
}

async function inCluster(
  h: KubeHarness,
  timeoutMs = 5_000,
): Promise<KubeAccess> {
  const access = await openKubernetes({
    env: h.double.podEnv(),
    serviceAccountDir: h.serviceAccountDir,
    timeoutMs,
  });
  assert(access.client, `in-cluster access failed: ${access.problem}`);
  assertEquals(access.client.mode, "in-cluster");
  return access;
}

async function withAccess(
  h: KubeHarness,
  fn: (access: KubeAccess) => Promise<void>,
  timeoutMs?: number,
) {
  const access = await inCluster(h, timeoutMs);
  try {
    await fn(access);
  } finally {
    access.client?.close();
  }
}

/** A small Seldon installation covering every counting rule. */
function populate(d: KubeDouble, ns = "seldon-mesh") {
  d.nodeNames = ["n1", "n2", "n3", "n4", "n5", "n6", "n7"];
  d.seldonRuntimes = [seldonRuntime(ns), seldonRuntime("other-ns")];
  d.serverConfigs = [
    serverConfig(ns, "mlserver", [
      container("agent", "seldonio/seldon-agent:2.8", {
        limits: { cpu: "100m" },
      }),
      container("server", "seldonio/mlserver:1.6.0", {
        limits: { cpu: "1", memory: "2Gi" },
        requests: { cpu: "500m" },
      }),
    ]),
    serverConfig(ns, "triton", [
      container("server", "nvcr.io/nvidia/tritonserver:23.05-py3", {
        limits: { "nvidia.com/gpu": "1" },
        requests: { cpu: "2" },
      }),
    ]),
    serverConfig(ns, "custom", [
      container("server", "registry.example/acme/scorer:3", {
        requests: { "nvidia.com/gpu": 1, memory: "1Gi" },
      }),
      container("proxy", "envoyproxy/envoy:1", { requests: {} }),
    ]),
  ];
  d.servers = [
    // 1.1 cores × 1 replica (default), no GPU
    server(ns, "mlserver", { serverConfig: "mlserver" }),
    // GPU by Server override only; cpu limit overridden to 1500m → 1.6 × 2
    server(ns, "mlserver-gpu", {
      serverConfig: "mlserver",
      replicas: 2,
      containers: [
        container("server", undefined, {
          limits: { cpu: "1500m", "nvidia.com/gpu": "1" },
        }),
      ],
    }),
    // GPU in limits only; cpu from the request (no limit): 2 × 3
    server(ns, "triton", { serverConfig: "triton", replicas: 3 }),
    // GPU in requests only; no cpu anywhere: 0
    server(ns, "custom", { serverConfig: "custom", replicas: 4 }),
  ];
}

const EVERY_METRIC: Snapshot = {
  is_kubernetes: true,
  kubernetes_version: "v1.30.2",
  node_count: 7,
  is_global_installation: true,
  gpu_enabled_count: 3,
  inference_server_name: "MLServer,Triton,custom",
  server_cpu_cores_sum: 10.3,
};

Deno.test("in-cluster: every Kubernetes metric from the double", async () => {
  await withKubeDouble(async (h) => {
    populate(h.double);
    await withAccess(h, async (access) => {
      const got = await collect(access);
      assertEquals(got.errors, []);
      assertEquals(got.warnings, []);
      assertEquals(got.snapshot, EVERY_METRIC);
    });
    // nodes are paged (7 nodes, at most 3 a page) and asked for as metadata only
    const nodes = h.double.requests.filter((r) => r.route === "nodes");
    assertEquals(nodes.length, 3);
    assertEquals(nodes.map((r) => r.query.continue !== undefined), [
      false,
      true,
      true,
    ]);
    assertMatch(nth(nodes, 0).accept ?? "", /as=PartialObjectMetadataList/);
    assert(
      h.double.requests.every((r) => r.authorization === "Bearer token-1"),
    );
  }, { maxPageSize: 3 });
});

Deno.test("is_global_installation is false with SeldonRuntimes in one namespace, and paging stops once two are seen", async () => {
  await withKubeDouble(async (h) => {
    h.double.seldonRuntimes = [
      seldonRuntime("a", "r1"),
      seldonRuntime("a", "r2"),
    ];
    await withAccess(h, async (access) => {
      const got = await collect(access, { level: "cluster" });
      assertEquals(got.snapshot.is_global_installation, false);
      h.double.seldonRuntimes = ["a", "b", "c", "d", "e"].map((ns) =>
        seldonRuntime(ns)
      );
      h.double.requests = [];
      const again = await collect(access, { level: "cluster" });
      assertEquals(again.snapshot.is_global_installation, true);
      assertEquals(h.double.count("seldonruntimes"), 2);
    });
  }, { maxPageSize: 1 });
});

Deno.test("403 on nodes: node_count absent, the rest present, one message naming the permission", async () => {
  await withKubeDouble(async (h) => {
    populate(h.double);
    h.double.faults.set("nodes", 403);
    await withAccess(h, async (access) => {
      const got = await collect(access);
      const { node_count: _, ...rest } = EVERY_METRIC;
      assertEquals(got.snapshot, rest);
      const message =
        'kubernetes: forbidden to list nodes (cluster-wide): node_count omitted; grant "list" on "nodes" in a ClusterRole';
      assertEquals(got.errors, [message]);
      assertEquals(got.warnings, []);
      assertEquals(got.denials, [{
        request: "list nodes (cluster-wide)",
        grantIn: "ClusterRole",
        cost: "node_count omitted",
        message,
      }]);
    });
  });
});

Deno.test("other failures name what was wrong and lose only their own metrics", async () => {
  await withKubeDouble(async (h) => {
    populate(h.double);
    h.double.faults.set("version", "garbage");
    h.double.faults.set("nodes", "shape");
    h.double.faults.set("seldonruntimes", 404);
    h.double.faults.set("serverconfigs", 500);
    await withAccess(h, async (access) => {
      const got = await collect(access);
      assertEquals(got.snapshot, { is_kubernetes: true });
      assertEquals(got.errors.length, 4);
      const [version, nodes, runtimes, servers] = leading(got.errors, 4);
      assertMatch(version, /\/version.*not JSON.*kubernetes_version omitted/);
      assertMatch(
        nodes,
        /malformed answer to list nodes: nodes list response has no "items" list: node_count omitted/,
      );
      assertMatch(
        runtimes,
        /seldonruntimes\.mlops\.seldon\.io \(cluster-wide\) answered 404.*custom resource definition installed/,
      );
      assertMatch(
        servers,
        /cannot list serverconfigs\.mlops\.seldon\.io \(cluster-wide\): .*HTTP 500/,
      );
    });
  });
});

Deno.test("a malformed Server object is an error naming the field", async () => {
  await withKubeDouble(async (h) => {
    populate(h.double);
    h.double.servers.push({
      metadata: { namespace: "x", name: "bad" },
      spec: { podSpec: { containers: { server: {} } } },
    });
    await withAccess(h, async (access) => {
      const got = await collect(access, { pageSize: 2 });
      assertEquals(got.snapshot.gpu_enabled_count, undefined);
      assertEquals(got.errors.length, 1);
      assertMatch(
        nth(got.errors, 0),
        /servers\[4\]\.spec\.podSpec\.containers is not a list/,
      );
    });
  });
});

Deno.test("an unparsable quantity is a warning and counts as 0", async () => {
  await withKubeDouble(async (h) => {
    h.double.serverConfigs = [serverConfig("n", "c", [
      container("server", "seldonio/mlserver:1", { limits: { cpu: "two" } }),
      container("agent", "x", { requests: { cpu: "250m" } }),
    ])];
    h.double.servers = [server("n", "s", { serverConfig: "c", replicas: 2 })];
    await withAccess(h, async (access) => {
      const got = await collect(access, { level: "feature" });
      assertEquals(got.snapshot.server_cpu_cores_sum, 0.5);
      assertEquals(got.snapshot.inference_server_name, "MLServer");
      assertEquals(got.warnings.length, 1);
      assertMatch(
        nth(got.warnings, 0),
        /cpu limit "two" is not a Kubernetes quantity; counted as 0/,
      );
    });
  });
});

Deno.test("Servers forbidden cluster-wide: the pod namespace is counted, and the denial says so", async () => {
  await withKubeDouble(async (h) => {
    populate(h.double, h.namespace);
    h.double.serverConfigs.push(serverConfig("elsewhere", "mlserver", [
      container("server", "seldonio/mlserver:1", { limits: { cpu: "64" } }),
    ]));
    h.double.servers.push(
      server("elsewhere", "big", { serverConfig: "mlserver" }),
    );
    h.double.faults.set("serverconfigs", 403);
    await withAccess(h, async (access) => {
      const got = await collect(access);
      assertEquals(got.errors, []);
      assertEquals(got.snapshot.server_cpu_cores_sum, 10.3);
      assertEquals(got.snapshot.gpu_enabled_count, 3);
      assertEquals(got.warnings, []);
      assertEquals(got.denials.length, 1);
      assertEquals(
        nth(got.denials, 0).request,
        "list serverconfigs.mlops.seldon.io (cluster-wide)",
      );
      assertEquals(nth(got.denials, 0).grantIn, "ClusterRole");
      assertMatch(
        nth(got.denials, 0).cost,
        /server_cpu_cores_sum count namespace seldon-mesh only/,
      );
    });
    assertEquals(h.double.count(`servers@${h.namespace}`), 1);
    assertEquals(h.double.count("servers"), 0);
  });
});

Deno.test("the token is re-read from its file at every collection (rotation)", async () => {
  await withKubeDouble(async (h) => {
    populate(h.double);
    await withAccess(h, async (access) => {
      assertEquals((await collect(access)).snapshot, EVERY_METRIC);
      // the kubelet rotates the projected token: new file, new accepted token
      h.double.token = "token-2";
      await Deno.writeTextFile(`${h.serviceAccountDir}/token`, "token-2\n");
      const second = await collect(access);
      assertEquals(second.errors, []);
      assertEquals(second.snapshot, EVERY_METRIC);
      assertEquals(
        h.double.requests.at(-1)?.authorization,
        "Bearer token-2",
      );
      // the server moves on but the file does not: 401, is_kubernetes stays
      h.double.token = "token-3";
      const third = await collect(access);
      assertEquals(third.snapshot, { is_kubernetes: true });
      assertEquals(third.errors.length, 4);
      for (const e of third.errors) assertMatch(e, /unauthorized .*HTTP 401/);
    });
  });
});

Deno.test("every request has a timeout, and the collector's signal aborts", async () => {
  await withKubeDouble(async (h) => {
    populate(h.double);
    h.double.faults.set("nodes", "hang");
    await withAccess(h, async (access) => {
      const got = await collect(access, { level: "cluster" });
      assertEquals(got.snapshot.node_count, undefined);
      assertEquals(got.snapshot.kubernetes_version, "v1.30.2");
      assertEquals(got.errors.length, 1);
      assertMatch(
        nth(got.errors, 0),
        /GET \/api\/v1\/nodes: no complete answer within 200 ms: node_count omitted/,
      );

      const controller = new AbortController();
      const pending = collect(access, { level: "cluster" }, controller.signal);
      controller.abort();
      const aborted = await pending;
      assertEquals(aborted.snapshot.node_count, undefined);
      assert(
        aborted.errors.some((e) => /aborted/.test(e)),
        aborted.errors.join("\n"),
      );
    }, 200);
  });
});

Deno.test("the level decides which requests are made", async () => {
  await withKubeDouble(async (h) => {
    populate(h.double);
    await withAccess(h, async (access) => {
      const got = await collect(access, { level: "cluster" });
      const {
        gpu_enabled_count: _g,
        inference_server_name: _i,
        server_cpu_cores_sum: _c,
        ...cluster
      } = EVERY_METRIC;
      assertEquals(got.snapshot, cluster);
      assertEquals(
        h.double.count("servers") + h.double.count("serverconfigs"),
        0,
      );
    });
  });
});

Deno.test("not in Kubernetes: is_kubernetes false and nothing else", async () => {
  const access = await openKubernetes({ env: {} });
  assertEquals(access, { inKubernetes: false });
  const got = await collect(access);
  assertEquals(got, {
    snapshot: { is_kubernetes: false },
    errors: [],
    warnings: [],
    denials: [],
  });
});

Deno.test("in a pod without a mounted token: is_kubernetes true and one failed source", async () => {
  await withKubeDouble(async (h) => {
    await Deno.remove(`${h.serviceAccountDir}/token`);
    const access = await openKubernetes({
      env: h.double.podEnv(),
      serviceAccountDir: h.serviceAccountDir,
    });
    assertEquals(access.client, undefined);
    const got = await collect(access);
    assertEquals(got.snapshot, { is_kubernetes: true });
    assertEquals(got.warnings, []);
    assertEquals(got.errors.length, 1);
    assertMatch(
      nth(got.errors, 0),
      /token does not exist \(is automountServiceAccountToken false\?\); Kubernetes metrics omitted/,
    );
    assertEquals(h.double.requests.length, 0);
  });
});

Deno.test("privacy: hostile names never reach the snapshot", async () => {
  const hostile = [
    "10.0.0.1",
    "db.internal.corp",
    "192.168.1.20",
    "payments-prod",
    "fraud-model",
  ];
  await withKubeDouble(async (h) => {
    const [ip, host, ip2, ns2, model] = leading(hostile, 5);
    h.double.gitVersion = `v1.29.0+${host}`;
    h.double.nodeNames = [ip, host, ip2];
    h.double.seldonRuntimes = [
      seldonRuntime(ip, host),
      seldonRuntime(host, ip),
    ];
    h.double.serverConfigs = [
      serverConfig(ip, host, [
        container("server", `${ip2}:5000/${host}/mlserver:${model}`, {
          limits: { cpu: "1" },
        }),
      ]),
      serverConfig(host, ip, [
        container(host, `${host}/${ns2}/${model}:1`, {
          requests: { cpu: "2", [`${host}/gpu`]: "1" },
        }),
        container("server", `${host}/${model}`),
      ]),
    ];
    h.double.servers = [
      server(ip, model, { serverConfig: host }),
      server(host, ns2, { serverConfig: ip, replicas: 2 }),
    ];
    await withAccess(h, async (access) => {
      const got = await collect(access);
      assertEquals(got.snapshot, {
        is_kubernetes: true,
        kubernetes_version: "v1.29.0",
        node_count: 3,
        is_global_installation: true,
        gpu_enabled_count: 1,
        inference_server_name: "MLServer,custom",
        server_cpu_cores_sum: 5,
      });
      const text = JSON.stringify(got.snapshot);
      for (const name of hostile) {
        assert(!text.includes(name), `${name} leaked into ${text}`);
      }
    });
  });
});
