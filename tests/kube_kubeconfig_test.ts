// The kubeconfig path (outside a pod) against the same double: the file is
// read by @kubernetes/client-node, requests go through our fetch client.

import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import {
  container,
  type KubeHarness,
  seldonRuntime,
  server,
  serverConfig,
  withKubeDouble,
} from "./fixtures/kube_double.ts";
import {
  checkKubeconfig,
  kubeconfigChoice,
  openKubernetes,
} from "../src/kube/access.ts";
import { kubernetesSources } from "../src/kube/sources.ts";
import type { Snapshot } from "../src/metrics/catalogue.ts";

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
      const r = await nth(kubernetesSources(access), 1).read(
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

/** A kubeconfig object for the double, to be changed before it is written. */
function configOf(h: KubeHarness, namespace = "team-a") {
  return JSON.parse(h.double.kubeconfig(namespace));
}

Deno.test("kubeconfig: which files, as kubectl picks them", async () => {
  await withKubeDouble(async (h) => {
    assertEquals(
      kubeconfigChoice({ env: {}, kubeconfig: "/a/config" }),
      { paths: ["/a/config"], explicit: true, from: "--kubeconfig" },
    );
    // KUBECONFIG (the setting's value came from it) is a list.
    assertEquals(
      kubeconfigChoice({
        env: { KUBECONFIG: "/a/one::/b/two" },
        kubeconfig: "/a/one::/b/two",
      }),
      { paths: ["/a/one", "/b/two"], explicit: true, from: "KUBECONFIG" },
    );
    // Else ~/.kube/config when it exists.
    assertEquals(kubeconfigChoice({ env: { HOME: h.dir } }), undefined);
    await Deno.mkdir(`${h.dir}/.kube`);
    await Deno.writeTextFile(`${h.dir}/.kube/config`, h.double.kubeconfig());
    assertEquals(kubeconfigChoice({ env: { HOME: `${h.dir}/` } }), {
      paths: [`${h.dir}/.kube/config`],
      explicit: false,
      from: "~/.kube/config",
    });
    // Never in a pod.
    assertEquals(
      kubeconfigChoice({
        env: { ...h.double.podEnv(), HOME: h.dir },
        kubeconfig: "/a/config",
      }),
      undefined,
    );
  });
});

Deno.test("kubeconfig: several files merge as kubectl merges them (the first definition and current-context win)", async () => {
  await withKubeDouble(async (h) => {
    h.double.nodeNames = ["a", "b", "c"];
    const first = configOf(h);
    // The first file: only the context, naming a cluster and user defined later.
    const one = {
      apiVersion: "v1",
      kind: "Config",
      "current-context": "double",
      contexts: first.contexts,
    };
    // The second: the cluster and user, a context of the same name that
    // must lose, and a current-context that must lose too.
    const two = {
      ...first,
      "current-context": "other",
      contexts: [
        { name: "double", context: { cluster: "nowhere", user: "nobody" } },
        { name: "other", context: { cluster: "nowhere", user: "nobody" } },
      ],
      clusters: [...first.clusters, {
        name: "nowhere",
        cluster: { server: "https://127.0.0.1:1" },
      }],
    };
    await Deno.writeTextFile(`${h.dir}/one`, JSON.stringify(one));
    await Deno.writeTextFile(`${h.dir}/two.yaml`, JSON.stringify(two));
    const list = `${h.dir}/one:${h.dir}/two.yaml`;
    const access = await openKubernetes({
      env: { KUBECONFIG: list },
      kubeconfig: list,
    });
    assert(access.client, access.problem);
    try {
      assertEquals(access.client.namespace, "team-a");
      const nodes = kubernetesSources(access, { level: "cluster" })
        .find((s) => s.name === "kubernetes nodes")!;
      assertEquals(await nodes.read(new AbortController().signal), {
        snapshot: { node_count: 3 },
      });
    } finally {
      access.client.close();
    }
    // A named file that is missing stops start-up, naming it.
    const missing = `${h.dir}/one:${h.dir}/gone`;
    const check = await checkKubeconfig({
      env: { KUBECONFIG: missing },
      kubeconfig: missing,
    });
    assertMatch(
      check.fatal ?? "",
      /gone does not exist \(named by KUBECONFIG\)$/,
    );
  });
});

Deno.test("kubeconfig: a named file that cannot be used stops start-up saying why; a default one does not", async () => {
  await withKubeDouble(async (h) => {
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(`${h.dir}/${name}`, text);
      return `${h.dir}/${name}`;
    };
    const noContext = configOf(h);
    delete noContext["current-context"];
    const noCluster = configOf(h);
    noCluster.clusters = [];
    const cases: [string, RegExp][] = [
      [`${h.dir}/absent`, /absent does not exist/],
      [h.dir, /is not a file/],
      [await write("empty", "  \n"), /empty is empty/],
      [
        await write("garbage", "this: is: not: yaml: ["),
        /is not a valid kubeconfig/,
      ],
      [
        await write("no-context", JSON.stringify(noContext)),
        /sets no current-context/,
      ],
      [
        await write("no-cluster", JSON.stringify(noCluster)),
        /names cluster "double", which it does not define/,
      ],
    ];
    for (const [path, why] of cases) {
      const check = await checkKubeconfig({ env: {}, kubeconfig: path });
      assertMatch(check.fatal ?? "", /^kubernetes: cannot use kubeconfig /);
      assertMatch(check.fatal ?? "", why);
      assertMatch(check.fatal ?? "", /\(named by --kubeconfig\)$/);
    }
    // ~/.kube/config malformed: no start-up error; each collection says so.
    await Deno.mkdir(`${h.dir}/.kube`);
    await Deno.writeTextFile(`${h.dir}/.kube/config`, "{ not yaml");
    assertEquals(await checkKubeconfig({ env: { HOME: h.dir } }), {
      warnings: [],
    });
    const access = await openKubernetes({ env: { HOME: h.dir } });
    assertEquals(access.client, undefined);
    assertMatch(
      access.problem ?? "",
      /\.kube\/config is not a valid kubeconfig.*Kubernetes metrics omitted/,
    );
  });
});

Deno.test("kubeconfig: insecure-skip-tls-verify (kind, minikube) works, with a warning that the certificate is not verified", async () => {
  await withKubeDouble(async (h) => {
    h.double.nodeNames = ["only"];
    const config = configOf(h);
    config.clusters[0].cluster = {
      server: h.double.url,
      "insecure-skip-tls-verify": true,
    };
    const file = `${h.dir}/kind`;
    await Deno.writeTextFile(file, JSON.stringify(config));
    const check = await checkKubeconfig({ env: {}, kubeconfig: file });
    assertEquals(check.fatal, undefined);
    assertEquals(check.warnings.length, 1);
    assertMatch(
      nth(check.warnings, 0),
      /sets insecure-skip-tls-verify: the API server's certificate is not verified/,
    );
    const access = await openKubernetes({ env: {}, kubeconfig: file });
    assert(access.client, access.problem);
    try {
      const nodes = kubernetesSources(access, { level: "cluster" })
        .find((s) => s.name === "kubernetes nodes")!;
      assertEquals(await nodes.read(new AbortController().signal), {
        snapshot: { node_count: 1 },
      });
      assertEquals(h.double.requests.at(-1)?.authorization, "Bearer token-1");
    } finally {
      access.client.close();
    }
    // Its requests are bounded by the timeout too.
    h.double.faults.set("version", "hang");
    const slow = await openKubernetes({
      env: {},
      kubeconfig: file,
      timeoutMs: 300,
    });
    assert(slow.client, slow.problem);
    try {
      const res = await slow.client.request({ path: "/version" });
      assertEquals(res.ok ? "ok" : res.failure, "timeout");
    } finally {
      slow.client.close();
    }
  }, { hangMs: 5_000 });
});

Deno.test("kubeconfig: a user name and password go as Basic credentials in UTF-8, whatever their characters", async () => {
  await withKubeDouble(async (h) => {
    const file = `${h.dir}/kubeconfig`;
    const config = JSON.parse(h.double.kubeconfig("team-a"));
    config.users = [{
      name: "tester",
      user: { username: "jürgen€", password: "pä:ss" },
    }];
    await Deno.writeTextFile(file, JSON.stringify(config));
    const access = await openKubernetes({ env: {}, kubeconfig: file });
    assert(access.client, `kubeconfig access failed: ${access.problem}`);
    try {
      // The double wants a bearer token: refused, and the header recorded.
      await nth(kubernetesSources(access), 1).read(
        new AbortController().signal,
      );
      const sent = h.double.requests.map((r) => r.authorization);
      assert(sent.length > 0, "no request reached the double");
      const expected = `Basic ${
        new TextEncoder().encode("jürgen€:pä:ss").toBase64()
      }`;
      assertEquals([...new Set(sent)], [expected]);
      assertEquals(
        new TextDecoder().decode(
          Uint8Array.fromBase64(expected.slice("Basic ".length)),
        ),
        "jürgen€:pä:ss",
      );
    } finally {
      access.client.close();
    }
  });
});
