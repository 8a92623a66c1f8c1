// The Kubernetes sources of metrics, for the collector's extraSources. Each
// source fails on its own: a forbidden nodes list loses node_count only.

import { CATALOGUE, includedAt } from "../collect/catalogue.ts";
import type { MetricName } from "../collect/catalogue.ts";
import type { Denial, Source, SourceResult } from "../collect/source.ts";
import type { MetricsLevel } from "../config/settings.ts";
import type { KubeAccess } from "./access.ts";
import {
  denialOf,
  explainFailure,
  type KubeClient,
  type KubeResponse,
  type Operation,
} from "./client.ts";
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

const failed = (error: string, denials?: Denial[]): SourceResult => ({
  snapshot: {},
  error,
  ...(denials?.length ? { denials } : {}),
});

/** A failed request as a result: the explanation, and its denial for a 403. */
function requestFailed(
  op: Operation,
  res: Extract<KubeResponse, { ok: false }>,
  lost: string,
  earlier: Denial[] = [],
): SourceResult {
  const denial = denialOf(op, res, lost);
  return failed(explainFailure(op, res, lost), [
    ...earlier,
    ...(denial ? [denial] : []),
  ]);
}

function listFailed(
  op: Operation,
  out: Exclude<ListOutcome, { ok: true }>,
  lost: string,
  earlier: Denial[] = [],
): SourceResult {
  return "failure" in out
    ? requestFailed(op, out.failure, lost, earlier)
    : failed(
      `kubernetes: malformed answer to ${op.verb} ${op.resource}: ${out.shape}: ${lost}`,
      earlier,
    );
}

async function readVersion(
  client: KubeClient,
  signal: AbortSignal,
): Promise<SourceResult> {
  const lost = "kubernetes_version omitted";
  const res = await client.request({ path: "/version", signal });
  if (!res.ok) {
    return requestFailed(
      { verb: "get", resource: "/version", scope: "cluster-wide" },
      res,
      lost,
    );
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
    return listFailed(
      { verb: "list", resource: "nodes", scope: "cluster-wide" },
      out,
      "node_count omitted",
    );
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
    return listFailed(
      {
        verb: "list",
        resource: "seldonruntimes.mlops.seldon.io",
        scope: "cluster-wide",
      },
      out,
      "is_global_installation omitted",
    );
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
  // A namespaced installation without the optional ClusterRole: count the
  // pod's namespace instead; what that costs is said with the result.
  let narrowed:
    | { op: Operation; res: Extract<KubeResponse, { ok: false }> }
    | undefined;
  const narrowedDenial = (cost: string): Denial[] =>
    narrowed ? [denialOf(narrowed.op, narrowed.res, cost)!] : [];
  const narrow = (
    resource: string,
    res: Extract<KubeResponse, { ok: false }>,
  ): Scope | SourceResult => {
    const op = opFor(resource, scope);
    if (namespace === undefined) {
      return requestFailed(
        op,
        res,
        `${SERVER_METRICS} (and the pod namespace is unknown: set POD_NAMESPACE)`,
      );
    }
    narrowed = { op, res };
    return { clusterWide: false, namespace };
  };
  const forbidden = (out: ListOutcome) =>
    !out.ok && "failure" in out && out.failure.failure === "forbidden"
      ? out.failure
      : undefined;

  let out = await listConfigs(scope);
  let refused = forbidden(out);
  if (refused) {
    const next = narrow("serverconfigs", refused);
    if (!("clusterWide" in next)) return next;
    scope = next;
    configs.clear();
    out = await listConfigs(scope);
  }
  if (!out.ok) {
    return listFailed(
      opFor("serverconfigs", scope),
      out,
      SERVER_METRICS,
      narrowedDenial(SERVER_METRICS),
    );
  }
  out = await listServers(scope);
  refused = scope.clusterWide ? forbidden(out) : undefined;
  if (refused) {
    const next = narrow("servers", refused);
    if (!("clusterWide" in next)) return next;
    scope = next;
    out = await listServers(scope);
  }
  if (!out.ok) {
    return listFailed(
      opFor("servers", scope),
      out,
      SERVER_METRICS,
      narrowedDenial(SERVER_METRICS),
    );
  }
  const denials = narrowedDenial(
    `gpu_enabled_count, inference_server_name and server_cpu_cores_sum count namespace ${namespace} only`,
  );
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
    denials: denials.length ? denials : undefined,
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
