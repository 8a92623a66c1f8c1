// deploy/kubernetes/receiver.yaml, read as Kubernetes reads it: every field is
// one the API knows, the container runs `hodometer receive` with options and
// values hodometer accepts, the SQLite store sits on the persistent volume
// with one writer, the probes answer, and the pod is locked down. Both
// manifests (this and hodometer.yaml) size memory for the binary's V8 heap cap.

import { loadAllYaml } from "@kubernetes/client-node";
import { assert, assertEquals, assertStringIncludes, nth } from "./assert.ts";
import { splitCommandLine } from "./command_options.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import { resolveSettings } from "../src/config/resolve.ts";
import { type SettingDef, SETTINGS } from "../src/config/settings.ts";
import { IN_MEMORY } from "../src/receive/command.ts";
import { parseQuantity, toNumber } from "../src/metrics/quantity.ts";
import { V8_FLAGS } from "../scripts/permissions.ts";

const DEPLOY = new URL("../deploy/kubernetes/", import.meta.url);
const receiverText = await Deno.readTextFile(new URL("receiver.yaml", DEPLOY));
const agentText = await Deno.readTextFile(new URL("hodometer.yaml", DEPLOY));

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;
const UNTYPED = "untyped.invalid/";

/** The documents as written (objects of an unknown API group stay untyped). */
function rawDocuments(text: string): Doc[] {
  return loadAllYaml(
    text.replace(/^apiVersion: (\S+)$/gm, `apiVersion: ${UNTYPED}$1`),
  ).map((d) => {
    const doc = JSON.parse(JSON.stringify(d));
    doc.apiVersion = String(doc.apiVersion).replace(UNTYPED, "");
    return doc;
  });
}

/**
 * The documents as the Kubernetes API models read them: a field the API does
 * not have (a misspelt `readOnlyRootFilesytem`, say) is dropped.
 */
function typedDocuments(text: string): Doc[] {
  const typed = loadAllYaml(text).map((d) => JSON.stringify(d));
  return rawDocuments(typed.join("\n---\n"));
}

const docs = rawDocuments(receiverText);
const agentDocs = rawDocuments(agentText);
const workloads = docs.filter((d) =>
  d.kind === "StatefulSet" || d.kind === "Deployment"
);
const workload = workloads[0] ?? {};
const pod: Doc = workload.spec?.template?.spec ?? {};
const container: Doc = pod.containers?.[0] ?? {};
const containerEnv: Record<string, string> = Object.fromEntries(
  (container.env ?? []).map((e: Doc) => [e.name, e.value]),
);
const split = splitCommandLine(container.args ?? []);
const resolved = resolveSettings(split.keys, {
  env: containerEnv,
  flags: split.flags,
  fileReadable: () => true,
});
const config = resolved.ok ? resolved.config : undefined;
const LABEL = "app.kubernetes.io/name";

Deno.test("receiver.yaml: every document names apiVersion, kind and metadata.name", () => {
  assert(docs.length >= 2, `only ${docs.length} document(s)`);
  for (const [i, doc] of docs.entries()) {
    for (const field of ["apiVersion", "kind"]) {
      assert(
        typeof doc[field] === "string" && doc[field] !== "",
        `document ${i} has no ${field}`,
      );
    }
    assert(
      typeof doc.metadata?.name === "string" && doc.metadata.name !== "",
      `document ${i} (${doc.kind}) has no metadata.name`,
    );
  }
});

Deno.test("receiver.yaml: every field is one the Kubernetes API has", () => {
  assertEquals(typedDocuments(receiverText), docs);
  const typo = receiverText.replace(
    "readOnlyRootFilesystem",
    "readOnlyRootFilesytem",
  );
  assert(
    JSON.stringify(typedDocuments(typo)) !== JSON.stringify(rawDocuments(typo)),
    "a misspelt field is noticed",
  );
});

Deno.test("receiver.yaml: one workload with one replica and one container, so the SQLite store has one writer", () => {
  assertEquals(workloads.length, 1);
  assertEquals(workload.spec.replicas, 1);
  if (workload.kind === "Deployment") {
    assertEquals(workload.spec.strategy?.type, "Recreate");
  } else {
    assertEquals(
      workload.spec.podManagementPolicy ?? "OrderedReady",
      "OrderedReady",
    );
  }
  assertEquals(pod.containers.length, 1);
  assertEquals(pod.initContainers, undefined);
});

Deno.test("receiver.yaml: the container runs `hodometer receive --record-level all` with options and values hodometer accepts", () => {
  assertEquals(container.command, undefined, "the image's entrypoint runs");
  assertEquals(container.args[0], "receive");
  assertEquals(split.errors, []);
  assert(resolved.ok, `not accepted: ${JSON.stringify(resolved)}`);
  assertEquals(resolved.warnings, []);
  assertEquals(split.flags.recordLevel, "all");
  assertEquals(config!.recordLevel, "all");
  const names = new Set(split.keys.flatMap((k) => {
    const def = SETTINGS[k] as SettingDef<unknown>;
    return [def.env, ...(def.envAliases ?? [])];
  }));
  for (const name of Object.keys(containerEnv)) {
    assert(names.has(name), `${name} is not a setting of hodometer receive`);
  }
  // The same check refuses what hodometer would refuse.
  assertEquals(splitCommandLine(["receive", "--record-levl", "all"]).errors, [
    "hodometer receive has no option --record-levl",
    "hodometer receive takes no argument all",
  ]);
  const bad = splitCommandLine(["receive", "--record-level", "everything"]);
  const badResolved = resolveSettings(bad.keys, {
    env: {},
    flags: bad.flags,
    fileReadable: () => true,
  });
  assert(!badResolved.ok);
});

Deno.test("receiver.yaml: the SQLite store is on the persistent volume, ReadWriteOnce", () => {
  const store = config!.store ?? `${config!.stateDir}/events.db`;
  assert(store !== IN_MEMORY && store.startsWith("/"), store);
  const mount = (container.volumeMounts as Doc[])
    .filter((m) => store.startsWith(m.mountPath.replace(/\/?$/, "/")))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  assert(mount !== undefined, `no volume is mounted where ${store} is`);
  assert(!mount.readOnly);
  const claims: Doc[] = workload.kind === "StatefulSet"
    ? workload.spec.volumeClaimTemplates.filter((c: Doc) =>
      c.metadata.name === mount.name
    ).map((c: Doc) => c.spec)
    : (pod.volumes as Doc[]).filter((v) =>
      v.name === mount.name && v.persistentVolumeClaim
    ).flatMap((v) =>
      docs.filter((d) =>
        d.kind === "PersistentVolumeClaim" &&
        d.metadata.name === v.persistentVolumeClaim.claimName
      ).map((d) => d.spec)
    );
  assertEquals(claims.length, 1, `${mount.name} is not a persistent volume`);
  for (const mode of nth(claims, 0).accessModes) {
    assert(
      ["ReadWriteOnce", "ReadWriteOncePod"].includes(mode),
      `access mode ${mode} would let pods on several nodes write the store`,
    );
  }
  assert(
    nth(claims, 0).resources.requests.storage,
    "no storage size requested",
  );
});

Deno.test("receiver.yaml: the Service reaches the container's listening port; probes use /healthz", () => {
  const services = docs.filter((d) => d.kind === "Service");
  assertEquals(services.length, 1);
  const service = nth(services, 0);
  const podLabels = workload.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(service.spec.selector)) {
    assertEquals(podLabels[k], v, `Service selector ${k}`);
  }
  for (const [k, v] of Object.entries(workload.spec.selector.matchLabels)) {
    assertEquals(podLabels[k], v, `workload selector ${k}`);
  }
  const port = (container.ports as Doc[]).find((p) =>
    p.containerPort === config!.listenPort
  );
  assert(port, `no container port ${config!.listenPort}`);
  assert(config!.listenHost !== "127.0.0.1", "listens on the pod's address");
  const reaches = (target: unknown) =>
    target === port.name || target === port.containerPort;
  for (const p of service.spec.ports) {
    assert(reaches(p.targetPort), `Service port ${p.name} misses the pod`);
  }
  for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
    const spec = container[probe];
    if (probe === "startupProbe" && spec === undefined) continue;
    assertEquals(spec?.httpGet?.path, "/healthz", probe);
    assert(reaches(spec.httpGet.port), `${probe} port`);
  }
});

Deno.test("receiver.yaml: a restricted securityContext and no service-account token", () => {
  assertEquals(pod.automountServiceAccountToken, false);
  assertEquals(pod.securityContext.runAsNonRoot, true);
  assertEquals(pod.securityContext.runAsUser, 1000);
  assertEquals(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
  const sc = container.securityContext;
  assertEquals(sc.allowPrivilegeEscalation, false);
  assertEquals(sc.readOnlyRootFilesystem, true);
  assert(sc.privileged !== true);
  assertEquals(sc.capabilities.drop, ["ALL"]);
  assertEquals(sc.capabilities.add, undefined);
});

/** Bytes of a Kubernetes memory quantity such as "128Mi". */
function memoryBytes(quantity: unknown): number {
  const parsed = parseQuantity(quantity);
  assert(parsed.ok, `memory ${String(quantity)}: not a quantity`);
  return toNumber(parsed.value);
}

/** The old generation cap the binary is built with, in bytes. */
function v8HeapCapBytes(): number {
  const flag = V8_FLAGS.find((f) => f.startsWith("--max-old-space-size="));
  assert(flag, "the binary's V8 flags cap the old generation");
  return Number(flag.split("=")[1]) * 1024 * 1024;
}

// What a Deno process holds outside V8's old generation: the runtime's own
// RssAnon (about 10 MiB idle) and the code pages it touches.
const OUTSIDE_HEAP_BYTES = 32 * 1024 * 1024;

/** The agent's memory: the stock Helm chart's, measured to hold 100 000 models. */
const AGENT_MEMORY_BYTES = 40 * 1024 * 1024;

function containerResources(text: string) {
  const workload = rawDocuments(text).find((d) =>
    d.kind === "Deployment" || d.kind === "StatefulSet"
  );
  return workload?.spec.template.spec.containers[0].resources;
}

Deno.test("receiver.yaml: memory limit above the binary's V8 heap cap, request within it", () => {
  const resources = containerResources(receiverText);
  const limit = memoryBytes(resources?.limits?.memory);
  const request = memoryBytes(resources?.requests?.memory);
  // The kernel must not kill the process before V8 could say what ran out.
  assert(
    limit >= v8HeapCapBytes() + OUTSIDE_HEAP_BYTES,
    `limit ${resources.limits.memory} is below the V8 heap cap plus the runtime`,
  );
  assert(request <= limit, "request above limit");
  // A receiver holds more than an agent cycle: above the agent's 40Mi.
  assert(request > AGENT_MEMORY_BYTES, `request ${resources.requests.memory}`);
  assert(resources.requests.cpu, "a CPU request");
  assertEquals(resources.limits.cpu, undefined, "no CPU limit (throttling)");
});

Deno.test("hodometer.yaml: 40Mi, request and limit, the figure measured for a first start at 100 000 models", () => {
  const resources = containerResources(agentText);
  // The agent paces its heap to the cgroup's limit (read at start), far
  // below V8's cap: `deno task bench --only limit` measures what holds.
  assertEquals(memoryBytes(resources?.limits?.memory), AGENT_MEMORY_BYTES);
  assertEquals(memoryBytes(resources?.requests?.memory), AGENT_MEMORY_BYTES);
  // The comment says what was measured, at 32 MiB and at 40.
  assertStringIncludes(agentText, "only 10 of 23 runs at 32 MiB held");
  assertStringIncludes(agentText, "held 5 of\n          # 5 at 40 MiB");
  assert(resources.requests.cpu, "a CPU request");
  assertEquals(resources.limits.cpu, undefined, "no CPU limit (throttling)");
});

Deno.test("receiver.yaml: labelled like hodometer.yaml, in another namespace than the agent it would be selected by", () => {
  const agent = agentDocs.find((d) => d.kind === "Deployment")!;
  const name = agent.metadata.labels[LABEL];
  for (const doc of docs) {
    assertEquals(doc.metadata.labels?.[LABEL], name, `${doc.kind} ${LABEL}`);
  }
  assertEquals(workload.spec.template.metadata.labels[LABEL], name);
  // The agent's selector would match the receiver's pods in its namespace.
  const agentSelects = Object.entries(agent.spec.selector.matchLabels).every((
    [k, v],
  ) => workload.spec.template.metadata.labels[k] === v);
  const namespaces = new Set(
    docs.filter((d) => d.kind !== "Namespace").map((d) => d.metadata.namespace),
  );
  assertEquals(namespaces.size, 1);
  const [namespace] = namespaces;
  assert(typeof namespace === "string");
  if (agentSelects) assert(namespace !== agent.metadata.namespace);
  // Nor does the receiver's selector take the agent's pods.
  const receiverSelects = Object.entries(workload.spec.selector.matchLabels)
    .every(([k, v]) => agent.spec.template.metadata.labels[k] === v);
  assert(!receiverSelects);
});

Deno.test("receiver.yaml: a receiver started with the manifest's arguments answers the probes' path", async () => {
  const receiver = await startReceiverProcess({
    args: container.args.slice(1),
  });
  try {
    const res = await fetch(
      `${receiver.url}${container.readinessProbe.httpGet.path}`,
    );
    const health = await res.json();
    assertEquals(res.status, 200);
    assertEquals(health.recordLevel, "all");
  } finally {
    const exit = await receiver.stop();
    assertEquals(exit.code, 0, exit.stderr);
  }
});
