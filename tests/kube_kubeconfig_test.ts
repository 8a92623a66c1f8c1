// The kubeconfig path (outside a pod) against the same double: the file is
// read by @kubernetes/client-node, requests go through our fetch client.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  container,
  seldonRuntime,
  server,
  serverConfig,
  withKubeDouble,
} from "./fixtures/kube_double.ts";
import { openKubernetes } from "../src/kube/access.ts";
import { kubernetesSources } from "../src/kube/sources.ts";
import type { Snapshot } from "../src/collect/catalogue.ts";

Deno.test("kubeconfig: every metric through a kubeconfig with a CA and a bearer token", async () => {
  await withKubeDouble(async (h) => {
    const d = h.double;
    d.nodeNames = ["a", "b"];
    d.seldonRuntimes = [seldonRuntime("team-a")];
    d.serverConfigs = [serverConfig("team-a", "mlserver", [
      container("server", "seldonio/mlserver:1.6", {
        limits: { cpu: "750m" },
      }),
    ])];
    d.servers = [server("team-a", "s", { serverConfig: "mlserver" })];
    const file = `${h.dir}/kubeconfig`;
    await Deno.writeTextFile(file, d.kubeconfig("team-a"));

    // outside a pod: no KUBERNETES_SERVICE_* variables
    const access = await openKubernetes({ env: {}, kubeconfig: file });
    assert(access.client, `kubeconfig access failed: ${access.problem}`);
    try {
      assertEquals(access.client.mode, "kubeconfig");
      assertEquals(access.client.namespace, "team-a");
      const snapshot: Snapshot = {};
      const errors: string[] = [];
      for (const source of kubernetesSources(access)) {
        const r = await source.read(new AbortController().signal);
        Object.assign(snapshot, r.snapshot);
        if (r.error) errors.push(r.error);
      }
      assertEquals(errors, []);
      assertEquals(snapshot, {
        is_kubernetes: true,
        kubernetes_version: "v1.30.2",
        node_count: 2,
        is_global_installation: false,
        gpu_enabled_count: 0,
        inference_server_name: "MLServer",
        server_cpu_cores_sum: 0.75,
      });
      assert(d.requests.every((r) => r.authorization === "Bearer token-1"));

      // a token the server does not accept: a 401 naming what was refused
      d.token = "rotated-elsewhere";
      const r = await kubernetesSources(access)[1].read(
        new AbortController().signal,
      );
      assertMatch(r.error ?? "", /unauthorized to get \/version/);
    } finally {
      access.client.close();
    }
  });
});

Deno.test("kubeconfig: an exec credential plugin works (auth methods come from client-node)", async () => {
  await withKubeDouble(async (h) => {
    h.double.token = "from-exec-plugin";
    h.double.nodeNames = ["only"];
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "from-exec-plugin" },
    });
    const config = JSON.parse(h.double.kubeconfig());
    config.users = [{
      name: "tester",
      user: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "/bin/sh",
          args: ["-c", `printf '%s' '${credential}'`],
          interactiveMode: "Never",
        },
      },
    }];
    const file = `${h.dir}/kubeconfig-exec`;
    await Deno.writeTextFile(file, JSON.stringify(config));
    const access = await openKubernetes({ env: {}, kubeconfig: file });
    assert(access.client, access.problem);
    try {
      const nodes = kubernetesSources(access, { level: "cluster" })
        .find((s) => s.name === "kubernetes nodes")!;
      const r = await nodes.read(new AbortController().signal);
      assertEquals(r, { snapshot: { node_count: 1 } });
      assertEquals(
        h.double.requests.at(-1)?.authorization,
        "Bearer from-exec-plugin",
      );
    } finally {
      access.client.close();
    }
  });
});

Deno.test("kubeconfig: a file that cannot be used is a problem, not a crash", async () => {
  await withKubeDouble(async (h) => {
    const cases: [string, RegExp][] = [
      ["this: is: not: yaml: [", /cannot use kubeconfig/],
      [
        JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [] }),
        /cannot use kubeconfig/,
      ],
    ];
    for (const [text, problem] of cases) {
      const file = `${h.dir}/bad-kubeconfig`;
      await Deno.writeTextFile(file, text);
      const access = await openKubernetes({ env: {}, kubeconfig: file });
      assertEquals(access.client, undefined);
      assert(access.inKubernetes);
      assertMatch(access.problem ?? "", problem);
    }
    const missing = await openKubernetes({
      env: {},
      kubeconfig: `${h.dir}/nope`,
    });
    assertMatch(missing.problem ?? "", /cannot use kubeconfig .*nope/);
  });
});

Deno.test("in a pod the service account wins over a kubeconfig", async () => {
  await withKubeDouble(async (h) => {
    const access = await openKubernetes({
      env: h.double.podEnv(),
      serviceAccountDir: h.serviceAccountDir,
      kubeconfig: `${h.dir}/unused`,
    });
    try {
      assertEquals(access.client?.mode, "in-cluster");
      assertEquals(access.client?.namespace, h.namespace);
    } finally {
      access.client?.close();
    }
  });
});
