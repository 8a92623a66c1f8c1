// What is read of each Kubernetes answer: exactly the fields the counting
// rules take (src/metrics/kube_rules.ts, through objects.ts), each scalar
// with a bound on its size. Everything else an answer holds (labels,
// annotations, managedFields, status, every other container field) is
// checked as JSON and dropped as it streams past.

import { type Pick, pick } from "./json_pick.ts";

/** A Kubernetes name (DNS subdomain) is at most 253 characters. */
const NAME = pick.scalar(253);
/** Longer than any image reference a registry accepts. */
const IMAGE = pick.scalar(4096);
/** parseQuantity refuses anything longer than 64 characters; one more says so. */
const QUANTITY = pick.scalar(65);
/** A qualified resource name: a 253-character prefix, "/", a 63-character name. */
const RESOURCE_NAME_BYTES = 317;

/**
 * The resources the rules read: `cpu` (podCpuCores) and any name ending in
 * `/gpu`, in any case (usesGpu).
 */
export function ruleResource(name: string): boolean {
  return name === "cpu" || name.toLowerCase().endsWith("/gpu");
}

const RESOURCES = pick.map(ruleResource, RESOURCE_NAME_BYTES, QUANTITY);

/** A pod spec as PodSpecLite needs it: containers' names, images, cpu and GPU resources. */
export const POD_SPEC: Pick = pick.object({
  containers: pick.array(pick.object({
    name: NAME,
    image: IMAGE,
    resources: pick.object({ limits: RESOURCES, requests: RESOURCES }),
  })),
});

const META = pick.object({ namespace: NAME, name: NAME });

/** A ServerConfig as readServerConfig needs it. */
export const SERVER_CONFIG_ITEM: Pick = pick.object({
  metadata: META,
  spec: pick.object({ podSpec: POD_SPEC }),
});

/** A Server as readServer needs it. */
export const SERVER_ITEM: Pick = pick.object({
  metadata: META,
  spec: pick.object({
    serverConfig: NAME,
    replicas: pick.scalar(32),
    podSpec: POD_SPEC,
  }),
});

/** A SeldonRuntime's namespace (is_global_installation). */
export const NAMESPACE_ITEM: Pick = pick.object({
  metadata: pick.object({ namespace: NAME }),
});

/** A node: nothing but that it is one (node_count). */
export const COUNTED_ITEM: Pick = pick.skip;

/** `/version`: gitVersion only (a real one is under 100 characters). */
export const VERSION: Pick = pick.object({ gitVersion: pick.scalar(256) });

/** A continue token is a few hundred bytes; 16 KiB is far beyond any. */
const CONTINUE_TOKEN = pick.scalar(16 * 1024);

/** A list answer: its continue token, and its items as `item` says, one by one. */
export function listPick(item: Pick): Pick {
  return pick.object({
    metadata: pick.object({ continue: CONTINUE_TOKEN }),
    items: pick.items(item),
  });
}
