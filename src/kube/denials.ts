// What the cluster's access control costs, said once per process in plain
// words: the refused requests, the metrics lost, what kind of cluster id the
// agent has instead of the ConfigMap, and what to apply to get them. The stock
// Seldon chart's Role (secrets only) refuses all of these, every cycle.

import type { Denial } from "../metrics/source.ts";

/** The ConfigMap of the cluster id refused, and what the agent keeps it in instead. */
export interface IdDenial {
  /** The refused request. */
  denial: Denial;
  /** Where the id is kept instead. */
  fallback: { kind: "state file"; path: string } | { kind: "ephemeral" };
}

/** Manifests that grant what a denial lacks (for service account `hodometer`). */
const GRANTS = {
  Role: "deploy/kubernetes/role.yaml",
  ClusterRole: "deploy/kubernetes/cluster-access.yaml",
} as const;

/** One line for the operator, about at least one denial. */
export function denialSummary(
  denials: readonly Denial[],
  id?: IdDenial,
): string {
  const all = id ? [...denials, id.denial] : denials;
  const requests = unique(all.map((d) => d.request));
  const costs = unique(denials.map((d) => d.cost));
  if (id?.fallback.kind === "state file") {
    costs.push(
      `the cluster id is kept in the state file ${id.fallback.path} instead of ConfigMap hodometer (a new pod starts with a new id unless STATE_DIR is a volume that outlives it)`,
    );
  } else if (id?.fallback.kind === "ephemeral") {
    costs.push(
      "the cluster id is new at every start (neither ConfigMap hodometer nor the state directory can keep it): cluster counts inflate",
    );
  }
  const manifests = [GRANTS.Role, GRANTS.ClusterRole].filter((m) =>
    all.some((d) => GRANTS[d.grantIn] === m)
  );
  return `kubernetes: this service account may not ${requests.join(", ")}. ` +
    `So: ${costs.join("; ")}. ` +
    `To get them, apply ${
      manifests.join(" and ")
    } (they grant service account hodometer, the stock chart's name too; set the namespace). ` +
    "Said once; later collections log it at debug level.";
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
