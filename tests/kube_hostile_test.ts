// A hostile Kubernetes API server over TLS on loopback (the double's hostile
// answers): whatever it sends, each metric is either right or omitted with a
// line saying what was cut off and what it cost; never wrong, never a crash
// or a hang. In-cluster, through a kubeconfig, and through a kubeconfig whose
// server is not verified (node:http underneath).

import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  type HostileShape,
  type KubeHarness,
  seldonRuntime,
  server,
  serverConfig,
  withKubeDouble,
} from "./fixtures/kube_double.ts";
import { hugeItemCount } from "./fixtures/kube_hostile.ts";
import { type KubeAccess, openKubernetes } from "../src/kube/access.ts";
import { kubernetesSources } from "../src/kube/sources.ts";
import { kubeClusterIdStore } from "../src/kube/cluster_id.ts";
import type { Snapshot } from "../src/metrics/catalogue.ts";
import type { MetricsLevel } from "../src/config/levels.ts";
import { ReadBudget } from "../src/kube/read_budget.ts";
import { formatBytes, MiB } from "../src/runtime/units.ts";

interface Collected {
  snapshot: Snapshot;
  errors: string[];
  warnings: string[];
}

async function collect(
  access: KubeAccess,
  level: MetricsLevel = "feature",
): Promise<Collected> {
  const signal = new AbortController().signal;
  const results = await Promise.all(
    kubernetesSources(access, { level }).map((s) => s.read(signal)),
  );
  const out: Collected = { snapshot: {}, errors: [], warnings: [] };
  for (const r of results) {
    Object.assign(out.snapshot, r.snapshot);
    if (r.error) out.errors.push(r.error);
    out.warnings.push(...(r.warnings ?? []));
  }
  return out;
}

/** A small installation whose metrics are known. */
function populate(h: KubeHarness) {
  const d = h.double;
  d.nodeNames = ["n1", "n2"];
  d.seldonRuntimes = [seldonRuntime("a"), seldonRuntime("b")];
  d.serverConfigs = [serverConfig("a", "c", [
    {
      name: "server",
      image: "seldonio/mlserver:1",
      resources: { limits: { cpu: "2" } },
    },
  ])];
  d.servers = [server("a", "s", { serverConfig: "c", replicas: 2 })];
}

const RIGHT: Snapshot = {
  is_kubernetes: true,
  kubernetes_version: "v1.30.2",
  node_count: 2,
  is_global_installation: true,
  gpu_enabled_count: 0,
  inference_server_name: "MLServer",
  server_cpu_cores_sum: 4,
};

/** Each metric reported is the right one; each missing one is said in an error. */
function rightOrOmitted(got: Collected, right: Snapshot = RIGHT) {
  for (const [name, value] of Object.entries(got.snapshot)) {
    assertEquals(value, right[name as keyof Snapshot], name);
  }
  for (const name of Object.keys(right)) {
    if (name in got.snapshot) continue;
    assert(
      got.errors.some((e) => e.includes(name)),
      `${name} is missing and no error says so: ${got.errors.join("\n")}`,
    );
  }
}

async function inCluster(
  h: KubeHarness,
  options: { budget?: number; timeoutMs?: number } = {},
): Promise<KubeAccess> {
  const access = await openKubernetes({
    env: h.double.podEnv(),
    serviceAccountDir: h.serviceAccountDir,
    timeoutMs: options.timeoutMs ?? 5_000,
    readBudgetBytes: options.budget,
  });
  assert(access.client, `no client: ${access.problem}`);
  return access;
}

interface HostileCase {
  /** Routes answered with a hostile body. */
  routes: Record<string, HostileShape>;
  budget?: number;
  timeoutMs?: number;
  level?: MetricsLevel;
  /** Called with the open access before the collection. */
  before?: (access: KubeAccess) => void;
}

/** One collection from the populated double with `c.routes` answered hostile. */
async function withHostile(
  c: HostileCase,
  check: (got: Collected, access: KubeAccess, h: KubeHarness) => unknown,
) {
  await withKubeDouble(async (h) => {
    populate(h);
    for (const [route, shape] of Object.entries(c.routes)) {
      h.double.hostile.set(route, shape);
    }
    const access = await inCluster(h, c);
    try {
      c.before?.(access);
      await check(await collect(access, c.level), access, h);
    } finally {
      access.client?.close();
    }
  });
}

/** Collects with the nodes list answered by `shape`: everything else right. */
async function withHostileNodes(
  shape: HostileShape,
  check: (got: Collected, h: KubeHarness) => void,
  options: { budget?: number; timeoutMs?: number; nodes?: number } = {},
) {
  await withHostile({ routes: { nodes: shape }, ...options }, (got, _, h) => {
    rightOrOmitted(got, { ...RIGHT, node_count: options.nodes ?? 2 });
    check(got, h);
  });
}

const nodeError = (got: Collected) => {
  const found = got.errors.find((e) => e.includes("node_count omitted"));
  assert(found, `no error about nodes: ${got.errors.join("\n")}`);
  return found;
};

Deno.test("hostile: a 7 MB nodes list in one answer is counted as it streams", async () => {
  const shape = { kind: "huge", bytes: 7_000_000 } as const;
  await withHostileNodes(shape, (got, h) => {
    assertEquals(got.errors, []);
    assertEquals(got.snapshot.node_count, hugeItemCount(shape));
    assertEquals(h.double.count("nodes"), 1);
  }, { nodes: hugeItemCount(shape) });
});

Deno.test("hostile: an endless nodes answer is cut off at half the collection's byte budget, and only node_count is lost", async () => {
  await withHostileNodes({ kind: "endless" }, (got, h) => {
    const { node_count: _, ...others } = RIGHT;
    assertEquals(got.snapshot, others);
    assertEquals(got.errors, [
      "kubernetes: cannot list nodes (cluster-wide): GET /api/v1/nodes: the answer is larger than 2097152 bytes (2 MiB) (cut off there): node_count omitted",
    ]);
    assertEquals(h.double.count("nodes"), 1);
  }, { budget: 4 * MiB });
});

Deno.test("hostile: lists that together pass the budget: the one cut off says so, and the ones read are right", async () => {
  // each under half the budget, together over what lists may take (7/8)
  const routes = {
    nodes: { kind: "huge", bytes: 1_900_000 },
    serverconfigs: { kind: "huge", bytes: 1_900_000 },
  } as const;
  await withHostile({ routes, budget: 4 * MiB }, (got) => {
    // The Server names a ServerConfig the hostile list does not hold.
    rightOrOmitted(got, {
      ...RIGHT,
      node_count: hugeItemCount(routes.nodes),
      inference_server_name: "",
      server_cpu_cores_sum: 0,
    });
    // Which lists come last (and are cut) depends on the order the sources
    // ask in; each cut one says so, and nothing read is wrong.
    assert(got.errors.length >= 1);
    for (const e of got.errors) {
      assertMatch(
        e,
        /^kubernetes: list \S+ \(cluster-wide\) cut off after \d+ bytes( \([\d.]+ [KM]iB\))? of its answer: the 4194304 bytes \(4 MiB\) that all Kubernetes reads of one collection may take together are spent, but for the 524288 bytes \(512 KiB\) kept for single objects, \(.*GET \/(api\/v1\/nodes|apis\/mlops\.seldon\.io\/v1alpha1\/serverconfigs) 1[78]\d{5} bytes \(1\.\d MiB\).*\): \S.* omitted$/,
      );
    }
  });
});

Deno.test("hostile: a slow answer is bounded by the request timeout", async () => {
  await withHostileNodes({ kind: "slow", everyMs: 50 }, (got) => {
    assertEquals(got.snapshot.node_count, undefined);
    assertMatch(
      nodeError(got),
      /GET \/api\/v1\/nodes: no complete answer within 400 ms \(\d+ bytes of its answer read\): node_count omitted$/,
    );
  }, { timeoutMs: 400 });
});

const malformedCases: [string, HostileShape, RegExp][] = [
  [
    "an answer that ends early",
    { kind: "truncated", bytes: 300_000 },
    /the answer ends before its JSON does \(after 300000 bytes\): node_count omitted$/,
  ],
  [
    "garbage late in an answer",
    { kind: "garbage-late", bytes: 300_001 },
    /the answer (is not JSON: unexpected .* at byte 30000\d|ends before its JSON does)/,
  ],
  [
    "nesting 200 000 deep",
    { kind: "deep", depth: 200_000 },
    /the answer nests deeper than 512 levels at byte \d+: node_count omitted$/,
  ],
  [
    "a page of HTML",
    { kind: "html", bytes: 1_000_000 },
    /the answer is "text\/html; charset=utf-8", not JSON: node_count omitted$/,
  ],
];

for (const [name, shape, expected] of malformedCases) {
  Deno.test(`hostile: ${name} loses node_count only, said`, async () => {
    await withHostileNodes(shape, (got) => {
      assertEquals(got.snapshot.node_count, undefined);
      assertMatch(nodeError(got), expected);
      assertEquals(got.errors.length, 1, got.errors.join("\n"));
    });
  });
}

Deno.test("hostile: a connection broken mid-answer loses node_count only, said", async () => {
  await withHostileNodes({ kind: "cut", bytes: 200_000 }, (got) => {
    assertEquals(got.snapshot.node_count, undefined);
    assertMatch(
      nodeError(got),
      /^kubernetes: cannot list nodes .*GET \/api\/v1\/nodes: .*node_count omitted$/,
    );
  });
});

Deno.test("hostile: a name of 10 MB in a node is skipped over; in a Server it is an error naming the field", async () => {
  await withHostileNodes({ kind: "long-string", bytes: 10_000_000 }, (got) => {
    assertEquals(got.errors, []);
    assertEquals(got.snapshot.node_count, 1);
  }, { budget: 32 * MiB, nodes: 1 });
  const servers = { kind: "long-string", bytes: 5_000_000 } as const;
  await withHostile({ routes: { servers } }, (got) => {
    rightOrOmitted(got);
    assertEquals(got.errors.length, 1);
    assertMatch(
      got.errors[0]!,
      /servers\[0\]\.metadata\.name is \(a string of 5000000 bytes\), longer than any it can be: gpu_enabled_count, inference_server_name and server_cpu_cores_sum omitted$/,
    );
  });
});

Deno.test("hostile: /version and the cluster id's ConfigMap are read up to their own caps", async () => {
  const routes = {
    version: { kind: "endless" },
    "configmaps.get": { kind: "endless" },
  } as const;
  await withHostile({ routes, level: "cluster" }, async (got, access, h) => {
    rightOrOmitted(got, {
      is_kubernetes: true,
      kubernetes_version: "v1.30.2",
      node_count: 2,
      is_global_installation: true,
    });
    assertEquals(got.snapshot.kubernetes_version, undefined);
    assertMatch(
      got.errors.join("\n"),
      /GET \/version: the answer is larger than 65536 bytes \(64 KiB\) \(cut off there\): kubernetes_version omitted/,
    );
    const id = await kubeClusterIdStore(access.client!, h.namespace).load();
    assert(id instanceof Error);
    assertMatch(
      id.message,
      /configmaps "hodometer".*the answer is larger than 2097152 bytes \(2 MiB\) \(cut off there\): falling back to the state file/,
    );
  });
});

Deno.test("hostile: the budget is one for every read of the collection", async () => {
  // Spent by reads before these (e.g. the TLS secrets): every list after it
  // is cut off before its first byte.
  const before = (access: KubeAccess) =>
    assert(!access.client!.budget.take(2 * MiB, "GET /earlier"));
  await withHostile({ routes: {}, budget: MiB, before }, (got) => {
    assertEquals(got.snapshot, { is_kubernetes: true });
    assertEquals(got.errors.length, 4);
    for (const e of got.errors) {
      assertMatch(
        e,
        /cut off after 0 bytes of its answer: the 1048576 bytes \(1 MiB\) that all Kubernetes reads of one collection may take together are spent(, but for the 131072 bytes \(128 KiB\) kept for single objects,)? \(GET \/earlier 1048576 bytes \(1 MiB\)\)/,
      );
    }
  });
});

Deno.test("hostile: a huge Servers list keeps 20 warnings about Servers and counts the rest", async () => {
  const servers = { kind: "huge", bytes: 1_000_000 } as const;
  await withHostile({ routes: { servers } }, (got) => {
    assertEquals(got.errors, []);
    // items with no spec: no serverConfig, no containers
    assertEquals(got.snapshot.server_cpu_cores_sum, 0);
    assertEquals(got.warnings.length, 21);
    assertEquals(
      got.warnings[20],
      `${
        hugeItemCount(servers) - 20
      } more warning(s) about Servers like the ones above, not shown`,
    );
  });
});

Deno.test("hostile: ServerConfigs are kept up to 256 KiB together", async () => {
  const serverconfigs = { kind: "endless", itemBytes: 200 } as const;
  await withHostile({ routes: { serverconfigs } }, (got) => {
    rightOrOmitted(got);
    assertMatch(
      got.errors.join("\n"),
      /what the rules keep of ServerConfigs passes 262144 bytes \(256 KiB\) at serverconfigs\[\d+\]: gpu_enabled_count, inference_server_name and server_cpu_cores_sum omitted/,
    );
  });
});

for (const insecure of [false, true]) {
  Deno.test(`hostile: through a kubeconfig${insecure ? " whose server is not verified" : ""}, the same bounds`, async () => {
    await withKubeDouble(async (h) => {
      populate(h);
      h.double.hostile.set("nodes", { kind: "endless" });
      const config = JSON.parse(h.double.kubeconfig());
      if (insecure) {
        config.clusters[0].cluster = {
          server: h.double.url,
          "insecure-skip-tls-verify": true,
        };
      }
      const path = `${h.dir}/kubeconfig`;
      await Deno.writeTextFile(path, JSON.stringify(config));
      const access = await openKubernetes({
        env: {},
        kubeconfig: path,
        timeoutMs: 10_000,
        readBudgetBytes: 2 * MiB,
      });
      assert(access.client, `no client: ${access.problem}`);
      try {
        assertEquals(access.client.mode, "kubeconfig");
        const got = await collect(access, "cluster");
        rightOrOmitted(got, {
          is_kubernetes: true,
          kubernetes_version: "v1.30.2",
          node_count: 2,
          is_global_installation: true,
        });
        assertMatch(
          nodeError(got),
          /GET \/api\/v1\/nodes: the answer is larger than 1048576 bytes \(1 MiB\) \(cut off there\): node_count omitted$/,
        );
      } finally {
        access.client.close();
      }
    });
  });
}

Deno.test("read budget: takes what fits, refuses what does not, and says who spent it", () => {
  const budget = new ReadBudget(100);
  assert(budget.take(60, "GET /a"));
  assert(budget.take(30, "GET /b"));
  assert(!budget.take(20, "GET /a"));
  assertEquals(budget.used, 100);
  assert(budget.exhausted);
  assert(!budget.take(1, "GET /c"));
  assertEquals(budget.spentBy(), "GET /a 70 bytes, GET /b 30 bytes");
  assertEquals(formatBytes(1), "1 byte");
  assertEquals(formatBytes(1023), "1023 bytes");
  assertEquals(formatBytes(1536), "1536 bytes (1.5 KiB)");
  assertEquals(formatBytes(3 * MiB / 2), "1572864 bytes (1.5 MiB)");
  assertEquals(formatBytes(32 * MiB), "33554432 bytes (32 MiB)");
});
