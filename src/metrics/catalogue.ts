// The metric catalogue: the single source for the event's properties, the level
// filter, `hodometer metrics` and the metrics list of docs/metrics.md.

import type { MetricsLevel } from "../config/settings.ts";

export type MetricLevel = MetricsLevel | "always";
export type MetricType = "uuid" | "string" | "boolean" | "integer" | "float";
export type MetricSource =
  | "identity"
  | "collector"
  | "scheduler status"
  | "scheduler servers"
  | "scheduler models"
  | "scheduler pipelines"
  | "scheduler experiments"
  | "kubernetes";

export interface MetricDef {
  name: string;
  level: MetricLevel;
  type: MetricType;
  source: MetricSource;
  description: string;
}

const metric = (
  name: string,
  level: MetricLevel,
  type: MetricType,
  source: MetricSource,
  description: string,
) => ({ name, level, type, source, description }) as const;

export const CATALOGUE = [
  metric(
    "cluster_id",
    "cluster",
    "uuid",
    "identity",
    "random identifier of this cluster, for de-duplication; persisted, never derived from anything identifying",
  ),
  metric(
    "seldon_core_version",
    "cluster",
    "string",
    "scheduler status",
    "applicationVersion reported by the scheduler",
  ),
  metric(
    "is_global_installation",
    "cluster",
    "boolean",
    "kubernetes",
    "whether Seldon Core 2 is installed cluster-wide: SeldonRuntime resources readable in more than one namespace",
  ),
  metric(
    "is_kubernetes",
    "cluster",
    "boolean",
    "kubernetes",
    "whether the installation runs in Kubernetes (always present)",
  ),
  metric(
    "kubernetes_version",
    "cluster",
    "string",
    "kubernetes",
    "Kubernetes server gitVersion, inside Kubernetes",
  ),
  metric(
    "node_count",
    "cluster",
    "integer",
    "kubernetes",
    "number of Nodes, inside Kubernetes",
  ),
  metric(
    "model_count",
    "resource",
    "integer",
    "scheduler models",
    "models the scheduler reports that are not deleted",
  ),
  metric(
    "pipeline_count",
    "resource",
    "integer",
    "scheduler pipelines",
    "pipelines with a version in state PipelineCreate, PipelineCreating or PipelineReady",
  ),
  metric(
    "experiment_count",
    "resource",
    "integer",
    "scheduler experiments",
    "experiments that are active",
  ),
  metric(
    "server_count",
    "resource",
    "integer",
    "scheduler servers",
    "servers with expected or available replicas above 0",
  ),
  metric(
    "server_replica_count",
    "resource",
    "integer",
    "scheduler servers",
    "over counted servers: expected replicas when above 0, else available replicas",
  ),
  metric(
    "multimodel_enabled_count",
    "feature",
    "integer",
    "scheduler servers",
    "server replicas with overcommit on or more than one model loaded",
  ),
  metric(
    "overcommit_enabled_count",
    "feature",
    "integer",
    "scheduler servers",
    "server replicas with overcommit on",
  ),
  metric(
    "gpu_enabled_count",
    "feature",
    "integer",
    "kubernetes",
    "Server resources whose pod spec requests or limits a GPU (a resource ending in /gpu)",
  ),
  metric(
    "inference_server_name",
    "feature",
    "string",
    "kubernetes",
    "inference servers in use (MLServer, Triton, custom), sorted and joined by commas",
  ),
  metric(
    "server_cpu_cores_sum",
    "feature",
    "float",
    "kubernetes",
    "sum over Servers of replicas × CPU cores of one pod (limits, else requests)",
  ),
  metric(
    "server_memory_gb_sum",
    "feature",
    "float",
    "scheduler servers",
    "total memory of server replicas in GB (decimal, 1e9 bytes, as the reference)",
  ),
  metric(
    "collector_version",
    "always",
    "string",
    "collector",
    "version of hodometer",
  ),
  metric(
    "collector_git_commit",
    "always",
    "string",
    "collector",
    "commit hodometer was built from",
  ),
] as const satisfies readonly MetricDef[];

export type MetricName = typeof CATALOGUE[number]["name"];
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

/** The metrics of a snapshot reported at a level, in catalogue order. */
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
