// The Kubernetes sources of metrics, opened beside the scheduler's by
// collect/open_sources.ts. Each source fails on its own: a forbidden nodes
// list loses node_count only. Lists are read as they stream and only what the
// rules take is kept (picks.ts); all reads share the client's byte budget, so
// one answer that spends it costs its own metrics and those read after it,
// each said with what was cut off.

import { CATALOGUE, includedAt } from "../metrics/catalogue.ts";
import type { MetricName } from "../metrics/catalogue.ts";
import type { Denial, Source, SourceResult } from "../metrics/source.ts";
import type { MetricsLevel } from "../config/levels.ts";
import { errorMessage } from "../runtime/error_message.ts";
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
  itemNamespace,
  readServer,
  readServerConfig,
  ShapeError,
} from "./objects.ts";
import {
  COUNTED_ITEM,
  NAMESPACE_ITEM,
  SERVER_CONFIG_ITEM,
  SERVER_ITEM,
  VERSION,
} from "./picks.ts";
import { formatBytes } from "../runtime/units.ts";
import {
  isGlobalInstallation,
  kubernetesVersion,
  KubeServerTally,
  type PodSpecLite,
} from "../metrics/kube_rules.ts";

/** Where Seldon's custom resources are served. */
const SELDON_API = "/apis/mlops.seldon.io/v1alpha1";

/**
 * Most bytes kept of all ServerConfigs together (they are held until every
 * Server is read), as the picker estimates them: a real cluster has a
 * handful of a few hundred bytes. (1 MiB was measured to cost 1.5 MiB more
 * heap in a 32 MiB pod than this, with an endless ServerConfigs list.)
 */
const MAX_SERVER_CONFIGS_KEPT = 256 * 1024;

/** Most warnings of one collection about Servers; the rest are counted. */
const MAX_SERVER_WARNINGS = 20;

/** Which Kubernetes sources are made, and how they list. */
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
          error: `${name}: unexpected failure: ${errorMessage(e)}`,
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
  const res = await client.request({
    path: "/version",
    signal,
    pick: VERSION,
    maxBytes: 64 * 1024,
  });
  if (!res.ok) {
    return requestFailed(
      { verb: "get", resource: "/version", scope: "cluster-wide" },
      res,
      lost,
    );
  }
  const raw = (res.body as { gitVersion?: unknown } | null)?.gitVersion;
  const version = kubernetesVersion(raw);
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
    item: COUNTED_ITEM,
    onItem: () => {
      count++;
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
    item: NAMESPACE_ITEM,
    onItem: (item, i) => {
      namespaces.add(itemNamespace(item, `seldonruntimes[${i}]`));
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
  const lists = serverLists(client, pageSize, signal);
  const scope = new Narrowing(namespace);
  for (const resource of ["serverconfigs", "servers"] as const) {
    const out = await scope.list(resource, lists[resource]);
    if ("snapshot" in out) return out;
    if (!out.ok) {
      return listFailed(
        opFor(resource, scope.scope),
        out,
        SERVER_METRICS,
        scope.denials(SERVER_METRICS),
      );
    }
  }
  const denials = scope.denials(
    `gpu_enabled_count, inference_server_name and server_cpu_cores_sum count namespace ${namespace} only`,
  );
  const metrics = lists.tally.result();
  if (!Number.isFinite(metrics.server_cpu_cores_sum)) {
    return failed(
      `kubernetes: server CPU sum is out of range: ${SERVER_METRICS}`,
    );
  }
  const said = lists.warnings.all();
  return {
    snapshot: { ...metrics },
    warnings: said.length ? said : undefined,
    denials: denials.length ? denials : undefined,
  };
}

/**
 * The two lists the server metrics come from, folded as they stream:
 * ServerConfigs kept (at most MAX_SERVER_CONFIGS_KEPT of them) until the
 * Servers are tallied against them.
 */
function serverLists(
  client: KubeClient,
  pageSize: number,
  signal: AbortSignal,
) {
  const configs = new Map<string, PodSpecLite>();
  const tally = new KubeServerTally(configs);
  const warnings = boundedWarnings(tally.warnings, MAX_SERVER_WARNINGS);
  let configsKept = 0;
  const list = (scope: Scope, resource: string) => ({
    path: scopedPath(scope, resource),
    what: `${resource} list`,
    pageSize,
    signal,
  });
  return {
    tally,
    warnings,
    serverconfigs: (scope: Scope) => {
      configs.clear();
      configsKept = 0;
      return listPaged(client, {
        ...list(scope, "serverconfigs"),
        item: SERVER_CONFIG_ITEM,
        onItem: (item, i, kept) => {
          configsKept += kept;
          if (configsKept > MAX_SERVER_CONFIGS_KEPT) {
            throw new ShapeError(
              `serverconfigs list: what the rules keep of ServerConfigs passes ${
                formatBytes(MAX_SERVER_CONFIGS_KEPT)
              } at serverconfigs[${i}]`,
            );
          }
          const c = readServerConfig(item, `serverconfigs[${i}]`);
          configs.set(
            KubeServerTally.configKey(c.namespace, c.name),
            c.podSpec,
          );
        },
      });
    },
    servers: (scope: Scope) =>
      listPaged(client, {
        ...list(scope, "servers"),
        item: SERVER_ITEM,
        onItem: (item, i) => {
          tally.add(readServer(item, `servers[${i}]`));
          warnings.trim();
        },
      }),
  };
}

type Refusal = Extract<KubeResponse, { ok: false }>;

/**
 * Where the server lists are read: cluster-wide until that is forbidden,
 * then the pod's namespace (a namespaced installation without the optional
 * ClusterRole); what that costs is said with the result.
 */
class Narrowing {
  scope: Scope = { clusterWide: true };
  #narrowed: { op: Operation; res: Refusal } | undefined;

  constructor(private readonly namespace: string | undefined) {}

  /** The list in the current scope, again in the pod's namespace when refused cluster-wide. */
  async list(
    resource: string,
    read: (scope: Scope) => Promise<ListOutcome>,
  ): Promise<ListOutcome | SourceResult> {
    const out = await read(this.scope);
    const refused = this.scope.clusterWide && !out.ok && "failure" in out &&
        out.failure.failure === "forbidden"
      ? out.failure
      : undefined;
    if (!refused) return out;
    const op = opFor(resource, this.scope);
    if (this.namespace === undefined) {
      return requestFailed(
        op,
        refused,
        `${SERVER_METRICS} (and the pod namespace is unknown: set POD_NAMESPACE)`,
      );
    }
    this.#narrowed = { op, res: refused };
    this.scope = { clusterWide: false, namespace: this.namespace };
    return await read(this.scope);
  }

  /** The cluster-wide refusal, with what it cost, once narrowed. */
  denials(cost: string): Denial[] {
    const n = this.#narrowed;
    return n ? [denialOf(n.op, n.res, cost)!] : [];
  }
}

/**
 * Keeps a growing list of warnings at its first `max` (one per Server could
 * otherwise grow with the list); the rest are counted and said as one line.
 */
function boundedWarnings(list: string[], max: number) {
  let dropped = 0;
  return {
    trim() {
      if (list.length <= max) return;
      dropped += list.length - max;
      list.length = max;
    },
    all(): string[] {
      return dropped === 0 ? [...list] : [
        ...list,
        `${dropped} more warning(s) about Servers like the ones above, not shown`,
      ];
    },
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
