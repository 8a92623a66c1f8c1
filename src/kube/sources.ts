// The Kubernetes sources of metrics, for the collector's extraSources. Each
// source fails on its own: a forbidden nodes list loses node_count only.

import { CATALOGUE, includedAt } from "../collect/catalogue.ts";
import type { MetricName } from "../collect/catalogue.ts";
import type { Source, SourceResult } from "../collect/source.ts";
import type { MetricsLevel } from "../config/settings.ts";
import type { KubeAccess } from "./access.ts";
import { explainFailure, type KubeClient, type Operation } from "./client.ts";
import { type ListOutcome, listPaged, METADATA_ONLY_ACCEPT } from "./list.ts";
import {
  isGlobalInstallation,
  itemNamespace,
  type PodSpecLite,
  readServer,
  readServerConfig,
  sanitizeVersion,
  ServerTally,
} from "./rules.ts";

export const SELDON_API = "/apis/mlops.seldon.io/v1alpha1";

export interface KubeSourceOptions {
  /** Only sources with a metric reported at this level are returned (default feature). */
  level?: MetricsLevel;
  /** POD_NAMESPACE; else the service account's or kubeconfig context's namespace. */
  namespace?: string;
  /** Page size of list requests (default 250 for metadata lists, 50 for Servers). */
  pageSize?: number;
}

/**
 * The Kubernetes sources. `is_kubernetes` comes from a source that makes no
 * request, so it is present whatever the API answers.
 */
export function kubernetesSources(
  access: KubeAccess,
  options: KubeSourceOptions = {},
): Source[] {
  const level = options.level ?? "feature";
  const wanted = (...names: MetricName[]) =>
    names.some((n) => includedAt(CATALOGUE.find((m) => m.name === n)!, level));
  const sources: Source[] = [{
    name: "kubernetes",
    read: () =>
      Promise.resolve({ snapshot: { is_kubernetes: access.inKubernetes } }),
  }];
  if (access.problem !== undefined) {
    // In Kubernetes, but its API cannot be used: every metric it gives is lost.
    const error = access.problem;
    sources.push({
      name: "kubernetes api",
      read: () => Promise.resolve({ snapshot: {}, error }),
    });
  }
  const client = access.client;
  if (!client) return sources;
  const namespace = options.namespace ?? client.namespace;
  const page = options.pageSize;
  if (wanted("kubernetes_version")) {
    sources.push(guarded("kubernetes version", (s) => readVersion(client, s)));
  }
  if (wanted("node_count")) {
    sources.push(
      guarded("kubernetes nodes", (s) => countNodes(client, page ?? 250, s)),
    );
  }
  if (wanted("is_global_installation")) {
    sources.push(
      guarded(
        "kubernetes seldon runtimes",
        (s) => readGlobalInstallation(client, page ?? 250, s),
      ),
    );
  }
  if (
    wanted("gpu_enabled_count", "inference_server_name", "server_cpu_cores_sum")
  ) {
    sources.push(
      guarded(
        "kubernetes servers",
        (s) => readServers(client, namespace, page ?? 50, s),
      ),
    );
  }
  return sources;
}

/** A source whose read never throws, whatever goes wrong inside. */
function guarded(
  name: string,
  read: (signal: AbortSignal) => Promise<SourceResult>,
): Source {
  return {
    name,
    read: async (signal) => {
      try {
        return await read(signal);
      } catch (e) {
        return {
          snapshot: {},
          error: `${name}: unexpected failure: ${
            e instanceof Error ? e.message : String(e)
          }`,
        };
      }
    },
  };
}

const failed = (error: string): SourceResult => ({ snapshot: {}, error });

function listFailure(op: Operation, out: ListOutcome, lost: string): string {
  if (out.ok) return "";
  return "failure" in out
    ? explainFailure(op, out.failure, lost)
    : `kubernetes: malformed answer to ${op.verb} ${op.resource}: ${out.shape}: ${lost}`;
}

async function readVersion(
  client: KubeClient,
  signal: AbortSignal,
): Promise<SourceResult> {
  const lost = "kubernetes_version omitted";
  const res = await client.request({ path: "/version", signal });
  if (!res.ok) {
    return failed(explainFailure(
      { verb: "get", resource: "/version", scope: "cluster-wide" },
      res,
      lost,
    ));
  }
  const raw = (res.body as { gitVersion?: unknown } | null)?.gitVersion;
  const version = sanitizeVersion(raw);
  if (version === undefined) {
    return failed(
      `kubernetes: /version answered without a version-like gitVersion: ${lost}`,
    );
  }
  return { snapshot: { kubernetes_version: version } };
}

async function countNodes(
  client: KubeClient,
  pageSize: number,
  signal: AbortSignal,
): Promise<SourceResult> {
  let count = 0;
  const out = await listPaged(client, {
    path: "/api/v1/nodes",
    what: "nodes list",
    pageSize,
    accept: METADATA_ONLY_ACCEPT,
    signal,
    onPage: (items) => {
      count += items.length;
    },
  });
  if (!out.ok) {
    return failed(listFailure(
      { verb: "list", resource: "nodes", scope: "cluster-wide" },
      out,
      "node_count omitted",
    ));
  }
  return { snapshot: { node_count: count } };
}

/**
 * SeldonRuntimes are listed cluster-wide only: a namespaced listing cannot
 * tell a global installation from a namespaced one, so when the cluster-wide
 * list is forbidden the metric is omitted rather than guessed.
 */
async function readGlobalInstallation(
  client: KubeClient,
  pageSize: number,
  signal: AbortSignal,
): Promise<SourceResult> {
  const namespaces = new Set<string>();
  const out = await listPaged(client, {
    path: `${SELDON_API}/seldonruntimes`,
    what: "seldonruntimes list",
    pageSize,
    accept: METADATA_ONLY_ACCEPT,
    signal,
    onPage: (items, first) => {
      items.forEach((item, i) =>
        namespaces.add(itemNamespace(item, `seldonruntimes[${first + i}]`))
      );
      return isGlobalInstallation(namespaces) ? "stop" : undefined;
    },
  });
  if (!out.ok) {
    return failed(listFailure(
      {
        verb: "list",
        resource: "seldonruntimes.mlops.seldon.io",
        scope: "cluster-wide",
      },
      out,
      "is_global_installation omitted",
    ));
  }
  return {
    snapshot: { is_global_installation: isGlobalInstallation(namespaces) },
  };
}

const SERVER_METRICS =
  "gpu_enabled_count, inference_server_name and server_cpu_cores_sum omitted";

/**
 * Servers and ServerConfigs are listed cluster-wide; when that is forbidden
 * (a namespaced installation without the optional ClusterRole), the pod's
 * namespace is counted instead, with a warning saying so.
 */
async function readServers(
  client: KubeClient,
  namespace: string | undefined,
  pageSize: number,
  signal: AbortSignal,
): Promise<SourceResult> {
  const warnings: string[] = [];
  const configs = new Map<string, PodSpecLite>();
  const listConfigs = (scope: Scope) =>
    listPaged(client, {
      path: scopedPath(scope, "serverconfigs"),
      what: "serverconfigs list",
      pageSize,
      signal,
      onPage: (items, first) => {
        items.forEach((item, i) => {
          const c = readServerConfig(item, `serverconfigs[${first + i}]`);
          configs.set(ServerTally.configKey(c.namespace, c.name), c.podSpec);
        });
      },
    });
  const tally = new ServerTally(configs);
  const listServers = (scope: Scope) =>
    listPaged(client, {
      path: scopedPath(scope, "servers"),
      what: "servers list",
      pageSize,
      signal,
      onPage: (items, first) => {
        items.forEach((item, i) =>
          tally.add(readServer(item, `servers[${first + i}]`))
        );
      },
    });

  let scope: Scope = { clusterWide: true };
  const narrow = (resource: string): Scope | string => {
    if (namespace === undefined) {
      return `kubernetes: forbidden to list ${resource}.mlops.seldon.io (cluster-wide) and the pod namespace is unknown (set POD_NAMESPACE): ${SERVER_METRICS}; grant "list" on "${resource}.mlops.seldon.io" in a ClusterRole`;
    }
    warnings.push(
      `kubernetes: forbidden to list ${resource}.mlops.seldon.io (cluster-wide): counting only the Servers of namespace ${namespace}; grant "list" on "servers.mlops.seldon.io" and "serverconfigs.mlops.seldon.io" in a ClusterRole to count all`,
    );
    return { clusterWide: false, namespace };
  };

  let out = await listConfigs(scope);
  if (!out.ok && "failure" in out && out.failure.failure === "forbidden") {
    const next = narrow("serverconfigs");
    if (typeof next === "string") return failed(next);
    scope = next;
    configs.clear();
    out = await listConfigs(scope);
  }
  if (!out.ok) {
    return failed(
      listFailure(opFor("serverconfigs", scope), out, SERVER_METRICS),
    );
  }
  out = await listServers(scope);
  if (
    !out.ok && scope.clusterWide && "failure" in out &&
    out.failure.failure === "forbidden"
  ) {
    const next = narrow("servers");
    if (typeof next === "string") return failed(next);
    scope = next;
    out = await listServers(scope);
  }
  if (!out.ok) {
    return failed(listFailure(opFor("servers", scope), out, SERVER_METRICS));
  }
  const metrics = tally.result();
  if (!Number.isFinite(metrics.server_cpu_cores_sum)) {
    return failed(
      `kubernetes: server CPU sum is out of range: ${SERVER_METRICS}`,
    );
  }
  warnings.push(...tally.warnings);
  return {
    snapshot: { ...metrics },
    warnings: warnings.length ? warnings : undefined,
  };
}

type Scope = { clusterWide: true } | { clusterWide: false; namespace: string };

function scopedPath(scope: Scope, resource: string): string {
  return scope.clusterWide
    ? `${SELDON_API}/${resource}`
    : `${SELDON_API}/namespaces/${
      encodeURIComponent(scope.namespace)
    }/${resource}`;
}

function opFor(resource: string, scope: Scope): Operation {
  return {
    verb: "list",
    resource: `${resource}.mlops.seldon.io`,
    scope: scope.clusterWide
      ? "cluster-wide"
      : `in namespace ${scope.namespace}`,
  };
}
