import {
  assert,
  assertEquals,
  assertMatch,
  assertThrows,
  nth,
} from "./assert.ts";
import {
  effectivePodSpec,
  inferenceServerOf,
  isGlobalInstallation,
  kubernetesVersion,
  KubeServerTally,
  podCpuCores,
  type PodSpecLite,
  serverReplicas,
  usesGpu,
} from "../src/metrics/kube_rules.ts";
import { readPodSpec, readServer } from "../src/kube/objects.ts";
import { toText } from "../src/metrics/quantity.ts";

const pod = (
  ...containers: [string, string | undefined, object?, object?][]
): PodSpecLite => ({
  containers: containers.map(([name, image, limits, requests]) => ({
    name,
    image,
    limits: { ...limits } as Record<string, unknown>,
    requests: { ...requests } as Record<string, unknown>,
  })),
});

Deno.test("effective pod spec: merge by container name, Server wins key by key, new names appended", () => {
  const base = pod(
    ["agent", "seldonio/agent:2", { cpu: "200m" }, { memory: "1Gi" }],
    ["server", "seldonio/mlserver:1.6", { cpu: "1", memory: "2Gi" }, {
      cpu: "500m",
    }],
  );
  const override = pod(
    ["server", undefined, { cpu: "4" }, { "nvidia.com/gpu": "1" }],
    ["sidecar", "example/sidecar:1", {}, { cpu: "100m" }],
  );
  const merged = effectivePodSpec(base, override);
  assertEquals(merged, {
    containers: [
      {
        name: "agent",
        image: "seldonio/agent:2",
        limits: { cpu: "200m" },
        requests: { memory: "1Gi" },
      },
      {
        name: "server",
        image: "seldonio/mlserver:1.6",
        limits: { cpu: "4", memory: "2Gi" },
        requests: { cpu: "500m", "nvidia.com/gpu": "1" },
      },
      {
        name: "sidecar",
        image: "example/sidecar:1",
        limits: {},
        requests: { cpu: "100m" },
      },
    ],
  });
  // the base is not mutated
  assertEquals(nth(base.containers, 1).limits, { cpu: "1", memory: "2Gi" });
  const image = effectivePodSpec(base, pod(["server", "my/triton:1"]));
  assertEquals(nth(image.containers, 1).image, "my/triton:1");
});

Deno.test("GPU: a resource ending in /gpu with a positive quantity, in limits or requests", () => {
  assertEquals(
    usesGpu(pod(["s", "x", { "nvidia.com/gpu": "1" }]), "t").value,
    true,
  );
  assertEquals(
    usesGpu(pod(["s", "x", {}, { "amd.com/gpu": 2 }]), "t").value,
    true,
  );
  assertEquals(
    usesGpu(pod(["s", "x", { "nvidia.com/gpu": "0" }]), "t").value,
    false,
  );
  assertEquals(
    usesGpu(pod(["s", "x", { cpu: "8", "nvidia.com/mig-1g.5gb": "1" }]), "t")
      .value,
    false,
  );
  const bad = usesGpu(pod(["s", "x", { "nvidia.com/gpu": "one" }]), "t");
  assertEquals(bad.value, false);
  assertEquals(bad.warnings.length, 1);
  assertMatch(
    nth(bad.warnings, 0),
    /nvidia\.com\/gpu limit "one" .*counted as 0/,
  );
});

Deno.test("CPU of a pod: limit, else request, else 0; mixed units; bad quantities count 0 with a warning", () => {
  const r = podCpuCores(
    pod(
      ["a", "x", { cpu: "500m" }, { cpu: "100m" }],
      ["b", "x", {}, { cpu: "1.5" }],
      ["c", "x", { memory: "1Gi" }],
      ["d", "x", { cpu: "2e-1" }],
      ["e", "x", { cpu: 1 }],
    ),
    "t",
  );
  assertEquals(toText(r.value), "3.2");
  assertEquals(r.warnings, []);
  const bad = podCpuCores(
    pod(
      ["a", "x", { cpu: "lots" }, { cpu: "1" }],
      ["b", "x", { cpu: "-1" }],
      ["c", "x", {}, { cpu: "250m" }],
    ),
    "Server ns/s",
  );
  assertEquals(toText(bad.value), "0.25");
  assertEquals(bad.warnings.length, 2);
  assertMatch(
    nth(bad.warnings, 0),
    /Server ns\/s: container "a" cpu limit "lots"/,
  );
  assertMatch(nth(bad.warnings, 1), /negative/);
});

Deno.test("inference server from the image's last repository segment, case-insensitive", () => {
  const cases: [string | undefined, string][] = [
    ["seldonio/mlserver:1.6.0", "MLServer"],
    ["docker.io/seldonio/mlserver:1.6.0-slim", "MLServer"],
    ["registry.example:5000/team/MLServer-custom@sha256:abc", "MLServer"],
    ["nvcr.io/nvidia/tritonserver:23.05-py3", "Triton"],
    ["my.registry/Triton:2", "Triton"],
    ["mlserver.registry.corp/serving/model-server:1", "custom"],
    ["registry/triton-team/myserver:1", "custom"],
    ["localhost:5000/triton", "Triton"],
    ["python:3.12", "custom"],
    ["", "custom"],
    [undefined, "custom"],
  ];
  for (const [image, name] of cases) {
    assertEquals(inferenceServerOf(image), name, String(image));
  }
});

Deno.test("replicas: unset is 1, whole numbers kept, anything else 0 with a warning", () => {
  assertEquals(serverReplicas(undefined, "t").value, 1);
  assertEquals(serverReplicas(0, "t").value, 0);
  assertEquals(serverReplicas(3, "t").value, 3);
  for (const bad of [-1, 1.5, "2", 2 ** 40]) {
    const r = serverReplicas(bad, "t");
    assertEquals(r.value, 0);
    assertEquals(r.warnings.length, 1);
  }
});

Deno.test("KubeServerTally folds Servers with their ServerConfigs", () => {
  const configs = new Map<string, PodSpecLite>([
    [
      KubeServerTally.configKey("a", "mlserver"),
      pod(["server", "seldonio/mlserver:1", { cpu: "1" }], ["agent", "x", {
        cpu: "100m",
      }]),
    ],
    [
      KubeServerTally.configKey("a", "triton"),
      pod(["server", "nvcr.io/nvidia/tritonserver:23", {
        cpu: "2",
        "nvidia.com/gpu": "1",
      }]),
    ],
  ]);
  const tally = new KubeServerTally(configs);
  const srv = (
    name: string,
    serverConfig: string | undefined,
    replicas: unknown,
    podSpec: PodSpecLite = { containers: [] },
  ) => ({ namespace: "a", name, serverConfig, replicas, podSpec });
  tally.add(srv("m1", "mlserver", undefined)); // 1.1 × 1
  tally.add(srv(
    "m2",
    "mlserver",
    2,
    pod(["server", undefined, {}, {
      "nvidia.com/gpu": "1",
    }]),
  )); // 1.1 × 2, gpu by override
  tally.add(srv("t1", "triton", 3)); // 2 × 3, gpu
  tally.add(srv(
    "c1",
    "missing",
    1,
    pod(["server", "me/custom:1", {}, {
      cpu: "250m",
    }]),
  )); // 0.25, custom
  assertEquals(tally.result(), {
    gpu_enabled_count: 2,
    inference_server_name: "MLServer,Triton,custom",
    server_cpu_cores_sum: 9.55,
  });
  assertEquals(tally.warnings.length, 1);
  assertMatch(nth(tally.warnings, 0), /ServerConfig "missing" not found/);
  assertEquals(new KubeServerTally(new Map()).result(), {
    gpu_enabled_count: 0,
    inference_server_name: "",
    server_cpu_cores_sum: 0,
  });
});

Deno.test("reading objects: wrong shapes are errors naming the field", () => {
  assertThrows(
    () => readPodSpec({ containers: "x" }, "s.podSpec"),
    /s\.podSpec\.containers is not a list/,
  );
  assertThrows(
    () => readPodSpec({ containers: [{ image: "x" }] }, "p"),
    /p\.containers\[0\]\.name is not a non-empty string/,
  );
  assertThrows(
    () =>
      readPodSpec(
        { containers: [{ name: "a", resources: { limits: [] } }] },
        "p",
      ),
    /p\.containers\[0\]\.resources\.limits is not an object/,
  );
  assertThrows(
    () => readServer({ spec: {} }, "servers[2]"),
    /servers\[2\]\.metadata is missing/,
  );
  const s = readServer(
    { metadata: { namespace: "n", name: "s" }, spec: { serverConfig: "c" } },
    "x",
  );
  assertEquals(s, {
    namespace: "n",
    name: "s",
    serverConfig: "c",
    replicas: undefined,
    podSpec: { containers: [] },
  });
});

Deno.test("global installation: SeldonRuntimes in more than one namespace", () => {
  assertEquals(isGlobalInstallation(new Set()), false);
  assertEquals(isGlobalInstallation(new Set(["a"])), false);
  assertEquals(isGlobalInstallation(new Set(["a", "b"])), true);
});

Deno.test("kubernetes version: version-like, with its v prefix; name-like suffixes dropped", () => {
  const cases: [unknown, string | undefined][] = [
    ["v1.30.2", "v1.30.2"],
    ["1.30.2", "v1.30.2"],
    ["v1.29.4-eks-036c24b", "v1.29.4-eks-036c24b"],
    ["v1.28.9+k3s1", "v1.28.9+k3s1"],
    ["v1.27.3-gke.1700", "v1.27.3-gke.1700"],
    ["v1.27.3+db.internal.corp", "v1.27.3"],
    ["v1.27.3-10.0.0.1", "v1.27.3"],
    ["v1.29.4-acme-payments-prod-eu1", "v1.29.4"],
    ["v1.27.3-" + "a".repeat(60), "v1.27.3"],
    ["db.internal.corp", undefined],
    ["10.0.0.1", undefined],
    ["", undefined],
    [42, undefined],
    [undefined, undefined],
  ];
  for (const [raw, want] of cases) {
    assertEquals(kubernetesVersion(raw), want, String(raw));
  }
  assert(kubernetesVersion("v1.2.3 ") === "v1.2.3");
});
