// The metric catalogue: the single source for the event's properties, the level
// filter, `hodometer metrics` and the metrics list of docs/metrics.md.
//
// Each metric's comment gives the rule of Seldon's Go hodometer it follows
// (file:line at SeldonIO/seldon-core 7b77f8b, in hodometer/pkg/hodometer/
// unless another path is given) and says whether ours is the same. Kept
// different on purpose, for every metric: a metric whose source failed is
// omitted, where Go sends its zero value (collect.go:274-277, 291-305 and the
// other collectors return nil, then collect.go:214-241 skip the assignment
// and publish.go:174-204 sends every field); a metric above the level is
// omitted, where Go sends its zero value (collect.go:220, 235). docs/parity.md
// has the whole audit.

import type { MetricsLevel } from "../config/levels.ts";

/** The lowest METRICS_LEVEL that reports a metric; `always` at every level. */
export type MetricLevel = MetricsLevel | "always";
/** What a metric's value is; typeProblem checks a value against it. */
export type MetricType = "uuid" | "string" | "boolean" | "integer" | "float";
/** What a metric is read from: a failed source omits exactly its metrics. */
export type MetricSource =
  | "identity"
  | "collector"
  | "scheduler status"
  | "scheduler servers"
  | "scheduler models"
  | "scheduler pipelines"
  | "scheduler experiments"
  | "kubernetes";

/** One metric of the catalogue. */
export interface MetricDef {
  /** The event property, as Seldon's hodometer names it. */
  name: string;
  /** The lowest level that reports it. */
  level: MetricLevel;
  /** The type of its value. */
  type: MetricType;
  /** Where its value comes from. */
  source: MetricSource;
  /** What it counts or says, for `hodometer metrics` and docs/metrics.md. */
  description: string;
}

const metric = (
  name: string,
  level: MetricLevel,
  type: MetricType,
  source: MetricSource,
  description: string,
) => ({ name, level, type, source, description }) as const;

/**
 * Every metric hodometer can report, in the order an event lists them: the
 * one place that says what a metric is, at which level it is reported and
 * where it comes from.
 */
export const CATALOGUE = [
  // Go: CLUSTER_ID trimmed (cmd/hodometer/args.go:176-182), kept when
  // uuid.Parse accepts it, else a new random UUID at every start
  // (collect.go:133-139). Different on purpose: the random one is persisted
  // and reused (SPEC §5); any uuid.Parse form is accepted the same.
  metric(
    "cluster_id",
    "cluster",
    "uuid",
    "identity",
    "random identifier of this cluster, for de-duplication; persisted, never derived from anything identifying",
  ),
  // Go: SchedulerStatus{subscriberName} (collect.go:272-273), its
  // applicationVersion sent as it comes (collect.go:280, 217-219). Different on
  // purpose: only a version-like value, and only a suffix that cannot carry a
  // name (version_string.ts); anything else is omitted with a warning. The
  // scheduler at 7b77f8b answers a fixed "0.0.1"
  // (scheduler/pkg/server/server.go:889-895), which both report.
  metric(
    "seldon_core_version",
    "cluster",
    "string",
    "scheduler status",
    "applicationVersion reported by the scheduler",
  ),
  // Go: documented (README.md's metrics table), not in UsageMetrics
  // (metrics.go:12-48): never sent. Implemented here (SPEC §3).
  metric(
    "is_global_installation",
    "cluster",
    "boolean",
    "kubernetes",
    "whether Seldon Core 2 is installed cluster-wide: SeldonRuntime resources readable in more than one namespace",
  ),
  // Go: documented, not in UsageMetrics (metrics.go:12-48): never sent.
  // Implemented here: true in a pod or with a kubeconfig.
  metric(
    "is_kubernetes",
    "cluster",
    "boolean",
    "kubernetes",
    "whether the installation runs in Kubernetes (always present)",
  ),
  // Go: Discovery().ServerVersion().GitVersion (collect.go:258-267), only
  // with an in-cluster config (collect.go:141-157), at every level. Same
  // request; different on purpose: also read with a kubeconfig off-cluster,
  // and sanitized as seldon_core_version is.
  metric(
    "kubernetes_version",
    "cluster",
    "string",
    "kubernetes",
    "Kubernetes server gitVersion, inside Kubernetes",
  ),
  // Go: documented, not in UsageMetrics (metrics.go:12-48): never sent.
  // Implemented here.
  metric(
    "node_count",
    "cluster",
    "integer",
    "kubernetes",
    "number of Nodes, inside Kubernetes",
  ),
  // Go: ModelStatus{subscriberName, model unset, allVersions unset = false}
  // (collect.go:424-427); every answer whose deleted is false counts
  // (collect.go:445-447). Same: scheduler_sources.ts asks allVersions false,
  // ModelTally (scheduler_rules.ts) counts !deleted.
  metric(
    "model_count",
    "resource",
    "integer",
    "scheduler models",
    "models the scheduler reports that are not deleted",
  ),
  // Go: PipelineStatus{subscriberName, name unset, allVersions false}
  // (collect.go:317-321): the scheduler then sends each pipeline's latest
  // version only (scheduler/pkg/server/server.go:840-855); a pipeline counts
  // when a version it sends is in PipelineCreate, PipelineCreating or
  // PipelineReady; a version without a state is skipped
  // (collect.go:344-368). Same: PipelineTally.
  metric(
    "pipeline_count",
    "resource",
    "integer",
    "scheduler pipelines",
    "pipelines whose latest version is in state PipelineCreate, PipelineCreating or PipelineReady",
  ),
  // Go: ExperimentStatus{subscriberName, name unset} (collect.go:287-290);
  // an experiment counts when active is true (collect.go:308-310). Same:
  // ExperimentTally.
  metric(
    "experiment_count",
    "resource",
    "integer",
    "scheduler experiments",
    "experiments that are active",
  ),
  // Go: ServerStatus{subscriberName, name unset} (collect.go:373-376); a
  // server counts when expectedReplicas > 0 or availableReplicas > 0
  // (collect.go:399-400). The scheduler's availableReplicas leaves draining
  // replicas out (scheduler/pkg/server/server.go:692-720). Same:
  // SchedulerServerTally.
  metric(
    "server_count",
    "resource",
    "integer",
    "scheduler servers",
    "servers with expected or available replicas above 0",
  ),
  // Go: over counted servers, expectedReplicas when > 0, else
  // availableReplicas (collect.go:401-405). Same: SchedulerServerTally.
  metric(
    "server_replica_count",
    "resource",
    "integer",
    "scheduler servers",
    "over counted servers: expected replicas when above 0, else available replicas",
  ),
  // Go: over counted servers, per replica resource entry: +1 when
  // overCommitPercentage > 0, else +1 when numLoadedModels > 1
  // (collect.go:407-414). Same: SchedulerServerTally. (Go's metrics table calls
  // it a number of Servers; the code counts replica entries, as we do.)
  metric(
    "multimodel_enabled_count",
    "feature",
    "integer",
    "scheduler servers",
    "server replicas with overcommit on or more than one model loaded",
  ),
  // Go: over counted servers, per replica resource entry with
  // overCommitPercentage > 0 (collect.go:407-411). Same: SchedulerServerTally.
  metric(
    "overcommit_enabled_count",
    "feature",
    "integer",
    "scheduler servers",
    "server replicas with overcommit on",
  ),
  // Go: a field of UsageMetrics (metrics.go:45) never assigned: always 0.
  // Implemented here (kube_rules.ts, SPEC §3).
  metric(
    "gpu_enabled_count",
    "feature",
    "integer",
    "kubernetes",
    "Server resources whose pod spec requests or limits a GPU (a resource ending in /gpu)",
  ),
  // Go: documented, not in UsageMetrics (metrics.go:12-48): never sent.
  // Implemented here (kube_rules.ts).
  metric(
    "inference_server_name",
    "feature",
    "string",
    "kubernetes",
    "inference servers in use (MLServer, Triton, custom), sorted and joined by commas",
  ),
  // Go: a field of UsageMetrics (metrics.go:46) never assigned: always 0.
  // Implemented here (kube_rules.ts).
  metric(
    "server_cpu_cores_sum",
    "feature",
    "float",
    "kubernetes",
    "sum over Servers of replicas × CPU cores of one pod (limits, else requests)",
  ),
  // Go: Σ totalMemoryBytes over the replica resource entries of counted
  // servers (collect.go:416), sent as float32(bytes) / 1e9 (collect.go:239):
  // decimal GB, though Go's docs say GiB. Same rule; kept different on
  // purpose: the division is in float64, so the value is not rounded to
  // float32's 7 significant digits (2.5 GB reads 2.5 from both; 1234567891
  // bytes read 1.234567891 here, 1.2345679 from Go).
  metric(
    "server_memory_gb_sum",
    "feature",
    "float",
    "scheduler servers",
    "total memory of server replicas in GB (decimal, 1e9 bytes, as the reference)",
  ),
  // Go: BuildVersion (version.go:13, collect.go:210), at every level. Same.
  metric(
    "collector_version",
    "always",
    "string",
    "collector",
    "version of hodometer",
  ),
  // Go: GitCommit (version.go:16, collect.go:211), at every level. Same.
  metric(
    "collector_git_commit",
    "always",
    "string",
    "collector",
    "commit hodometer was built from",
  ),
] as const satisfies readonly MetricDef[];

/** The name of a metric of the catalogue. */
export type MetricName = typeof CATALOGUE[number]["name"];
/** A metric's value as it goes into the event. */
export type MetricValue = string | number | boolean;
/** What one collection measured; a metric whose source failed is absent. */
export type Snapshot = Partial<Record<MetricName, MetricValue>>;

const LEVEL_RANK: Record<MetricLevel, number> = {
  always: 0,
  cluster: 1,
  resource: 2,
  feature: 3,
};

/** Whether a metric is reported at a level (feature ⊃ resource ⊃ cluster). */
export function includedAt(def: MetricDef, level: MetricsLevel): boolean {
  return LEVEL_RANK[def.level] <= LEVEL_RANK[level];
}

/**
 * The metrics of a snapshot reported at a level, in catalogue order: what an
 * event at METRICS_LEVEL `level` carries.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filterByLevel } from "./catalogue.ts";
 *
 * const snapshot = { model_count: 3, gpu_enabled_count: 1 };
 * assert.deepEqual(filterByLevel(snapshot, "resource"), { model_count: 3 });
 * assert.deepEqual(filterByLevel(snapshot, "feature"), snapshot);
 * ```
 */
export function filterByLevel(
  snapshot: Snapshot,
  level: MetricsLevel,
): Snapshot {
  const out: Snapshot = {};
  for (const def of CATALOGUE) {
    const value = snapshot[def.name];
    if (value !== undefined && includedAt(def, level)) out[def.name] = value;
  }
  return out;
}

/**
 * Why a value cannot go into an event as this metric (a count is a whole
 * number ≥ 0, a sum a finite number ≥ 0), or undefined when it can.
 */
export function typeProblem(
  def: MetricDef,
  value: unknown,
): string | undefined {
  switch (def.type) {
    case "integer":
      return Number.isSafeInteger(value) && (value as number) >= 0
        ? undefined
        : `expected a non-negative integer, got ${String(value)}`;
    case "float":
      return typeof value === "number" && Number.isFinite(value) && value >= 0
        ? undefined
        : `expected a non-negative number, got ${String(value)}`;
    case "boolean":
      return typeof value === "boolean" ? undefined : "expected a boolean";
    case "string":
    case "uuid":
      return typeof value === "string" ? undefined : "expected a string";
  }
}

/**
 * docs/metrics.md's list: one list item per metric (name; level, type and
 * source; meaning), narrow enough for a terminal.
 */
export function metricsListMarkdown(): string {
  return CATALOGUE.map((m) =>
    `- \`${m.name}\` (${m.level}, ${m.type}, from ${m.source}): ${m.description}.`
  ).join("\n");
}
