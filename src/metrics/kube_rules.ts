// The counting rules for the Kubernetes-derived metrics, as pure functions over
// API objects already decoded (src/kube/objects.ts). Names of resources are
// used only to join Servers to their ServerConfigs and in warnings for the
// operator's own logs; what leaves this module for the event is counts, flags,
// a sanitized version and the fixed inference server names.
// Seldon's Go hodometer documents these metrics but never computes them
// (hodometer/pkg/hodometer/metrics.go:12-48 at seldon-core 7b77f8b: no
// field, or a field never assigned); the rules are SPEC §3's. Only
// kubernetesVersion reads what Go reads (collect.go:258-267).

import {
  add,
  compare,
  type Decimal,
  isNegative,
  multiply,
  parseQuantity,
  toNumber,
  ZERO,
} from "./quantity.ts";
import { sanitizeVersion } from "./version_string.ts";

// ---------------------------------------------------------------- shapes

/** A container of a pod spec: what the rules read of it. */
export interface ContainerSpec {
  /** Joins a Server's container to its ServerConfig's; `server` runs the model server. */
  name: string;
  /** The image, which tells the inference server. */
  image?: string;
  /** `resources.limits`, quantities as found (unchecked). */
  limits: Record<string, unknown>;
  /** `resources.requests`, quantities as found (unchecked). */
  requests: Record<string, unknown>;
}

/** A pod spec: its containers. */
export interface PodSpecLite {
  /** In the order of the spec. */
  containers: ContainerSpec[];
}

/** A ServerConfig resource: the pod spec Servers that name it start from. */
export interface ServerConfigLite {
  /** Its namespace; a Server finds its ServerConfig in its own namespace. */
  namespace: string;
  /** Its name, as a Server's spec.serverConfig gives it. */
  name: string;
  /** spec.podSpec: where the Servers that name it start from. */
  podSpec: PodSpecLite;
}

/** A Server resource: what the rules read of it. */
export interface ServerLite {
  /** Its namespace, where its ServerConfig is looked up. */
  namespace: string;
  /** Its name, for warnings in the operator's own logs only. */
  name: string;
  /** spec.serverConfig: the ServerConfig it starts from. */
  serverConfig?: string;
  /** As found in spec.replicas; undefined when unset (defaults to 1). */
  replicas: unknown;
  /** spec.podSpec: what it changes in its ServerConfig's pod spec. */
  podSpec: PodSpecLite;
}

// ---------------------------------------------------------------- rules

/**
 * The ServerConfig's pod spec with the Server's containers merged by name: a
 * new name is appended; in a merged container the Server's fields win and the
 * limits and requests maps merge key by key, the Server's value winning.
 */
export function effectivePodSpec(
  base: PodSpecLite,
  override: PodSpecLite,
): PodSpecLite {
  const containers = base.containers.map((c) => ({ ...c }));
  for (const o of override.containers) {
    const i = containers.findIndex((c) => c.name === o.name);
    const b = containers[i];
    if (b === undefined) {
      containers.push({ ...o });
      continue;
    }
    containers[i] = {
      name: o.name,
      image: o.image ?? b.image,
      limits: { ...b.limits, ...o.limits },
      requests: { ...b.requests, ...o.requests },
    };
  }
  return { containers };
}

/** A rule's result, and what was counted as 0 on the way and why. */
export interface Counted<T> {
  /** What the rule found, a value it could not read counted as 0. */
  value: T;
  /** One line per value that could not be read, naming the resource. */
  warnings: string[];
}

/** Whether any container requests or limits more than zero of a resource ending in `/gpu`. */
export function usesGpu(pod: PodSpecLite, who: string): Counted<boolean> {
  const warnings: string[] = [];
  let gpu = false;
  for (const c of pod.containers) {
    for (
      const [kind, map] of [["limit", c.limits], [
        "request",
        c.requests,
      ]] as const
    ) {
      for (const [resource, raw] of Object.entries(map)) {
        if (!resource.toLowerCase().endsWith("/gpu")) continue;
        const q = parseQuantity(raw);
        if (!q.ok) {
          warnings.push(
            `${who}: container "${c.name}" ${resource} ${kind} ${q.error}; counted as 0`,
          );
        } else if (compare(q.value, ZERO) > 0) gpu = true;
      }
    }
  }
  return { value: gpu, warnings };
}

/** CPU cores of one pod: Σ containers (the cpu limit, else the cpu request, else 0). */
export function podCpuCores(pod: PodSpecLite, who: string): Counted<Decimal> {
  const warnings: string[] = [];
  let sum = ZERO;
  for (const c of pod.containers) {
    const kind = c.limits.cpu !== undefined ? "limit" : "request";
    const raw = kind === "limit" ? c.limits.cpu : c.requests.cpu;
    if (raw === undefined) continue;
    const q = parseQuantity(raw);
    if (!q.ok) {
      warnings.push(
        `${who}: container "${c.name}" cpu ${kind} ${q.error}; counted as 0`,
      );
    } else if (isNegative(q.value)) {
      warnings.push(
        `${who}: container "${c.name}" cpu ${kind} is negative; counted as 0`,
      );
    } else sum = add(sum, q.value);
  }
  return { value: sum, warnings };
}

/** The inference servers inference_server_name can list: fixed words, never a name. */
export type InferenceServer = "MLServer" | "Triton" | "custom";

/**
 * The inference server an image runs, judged by the last path segment of its
 * repository (registry, organisation, tag and digest ignored), case-insensitive:
 * "mlserver" in it → MLServer, else "triton" (incl. "tritonserver") → Triton.
 */
export function inferenceServerOf(image: string | undefined): InferenceServer {
  if (image === undefined) return "custom";
  let repo = image.trim().toLowerCase();
  const at = repo.indexOf("@");
  if (at >= 0) repo = repo.slice(0, at);
  const lastSlash = repo.lastIndexOf("/");
  let last = repo.slice(lastSlash + 1);
  const colon = last.indexOf(":");
  if (colon >= 0) last = last.slice(0, colon);
  if (last.includes("mlserver")) return "MLServer";
  if (last.includes("triton")) return "Triton";
  return "custom";
}

/** spec.replicas: unset → 1; a whole number ≥ 0 → itself; anything else → 0 with a warning. */
export function serverReplicas(raw: unknown, who: string): Counted<number> {
  if (raw === undefined || raw === null) return { value: 1, warnings: [] };
  if (
    typeof raw === "number" && Number.isInteger(raw) && raw >= 0 &&
    raw <= 2 ** 31 - 1
  ) {
    return { value: raw, warnings: [] };
  }
  return {
    value: 0,
    warnings: [
      `${who}: spec.replicas ${
        JSON.stringify(raw)
      } is not a whole number ≥ 0; its CPU counted as 0`,
    ],
  };
}

/** The metrics KubeServerTally measures, as the event names them. */
export interface ServerMetrics {
  /** Servers whose pod spec asks for a GPU. */
  gpu_enabled_count: number;
  /** The inference servers in use, sorted and joined by commas. */
  inference_server_name: string;
  /** Σ over Servers of replicas × CPU cores of one pod. */
  server_cpu_cores_sum: number;
}

/**
 * Folds Server resources one at a time (lists are paged, so nothing needs holding but
 * the ServerConfigs they refer to) into gpu_enabled_count,
 * inference_server_name and server_cpu_cores_sum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeServerTally } from "./kube_rules.ts";
 *
 * const mlserver = {
 *   containers: [{
 *     name: "server",
 *     image: "seldonio/mlserver:1.6.0",
 *     limits: { cpu: "500m" },
 *     requests: {},
 *   }],
 * };
 * const tally = new KubeServerTally(
 *   new Map([[KubeServerTally.configKey("seldon", "mlserver"), mlserver]]),
 * );
 * tally.add({
 *   namespace: "seldon",
 *   name: "mlserver",
 *   serverConfig: "mlserver",
 *   replicas: 2,
 *   podSpec: { containers: [] },
 * });
 * assert.deepEqual(tally.result(), {
 *   gpu_enabled_count: 0,
 *   inference_server_name: "MLServer",
 *   server_cpu_cores_sum: 1,
 * });
 * ```
 */
export class KubeServerTally {
  #gpu = 0;
  #names = new Set<InferenceServer>();
  #cpu: Decimal = ZERO;
  /** What was counted as 0 and why, one line each, for the operator's logs. */
  readonly warnings: string[] = [];

  /** `configs`: every ServerConfig's pod spec, keyed by configKey. */
  constructor(
    private readonly configs: ReadonlyMap<string, PodSpecLite>,
  ) {}

  /** The key of a ServerConfig in the map the tally is given. */
  static configKey(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  /** Counts one Server, merged over the ServerConfig it names. */
  add(server: ServerLite): void {
    const who = `Server ${server.namespace}/${server.name}`;
    let base: PodSpecLite = { containers: [] };
    if (server.serverConfig === undefined) {
      this.warnings.push(
        `${who} names no spec.serverConfig; using its own pod spec only`,
      );
    } else {
      const found = this.configs.get(
        KubeServerTally.configKey(server.namespace, server.serverConfig),
      );
      if (found) base = found;
      else {
        this.warnings.push(
          `${who}: ServerConfig "${server.serverConfig}" not found in its namespace; using the Server's own pod spec only`,
        );
      }
    }
    const pod = effectivePodSpec(base, server.podSpec);
    const gpu = usesGpu(pod, who);
    const cpu = podCpuCores(pod, who);
    const replicas = serverReplicas(server.replicas, who);
    this.warnings.push(...gpu.warnings, ...cpu.warnings, ...replicas.warnings);
    if (gpu.value) this.#gpu += 1;
    this.#cpu = add(this.#cpu, multiply(cpu.value, replicas.value));
    const main = pod.containers.find((c) => c.name === "server");
    if (main) this.#names.add(inferenceServerOf(main.image));
  }

  /** The metrics of the Servers added so far. */
  result(): ServerMetrics {
    return {
      gpu_enabled_count: this.#gpu,
      inference_server_name: [...this.#names].sort().join(","),
      server_cpu_cores_sum: toNumber(this.#cpu),
    };
  }
}

/** Installed cluster-wide when SeldonRuntime resources exist in more than one namespace. */
export function isGlobalInstallation(namespaces: ReadonlySet<string>): boolean {
  return namespaces.size > 1;
}

/** A Kubernetes gitVersion, version-like, always with its `v` prefix. */
export const kubernetesVersion = (raw: unknown): string | undefined =>
  sanitizeVersion(raw, "v");
