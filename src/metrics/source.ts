// The contract between the collector and its sources (scheduler rpcs, Kubernetes).

import type { Snapshot } from "./catalogue.ts";

/**
 * A request the cluster's access control refused: what it cost and where the
 * permission is granted. Said once per process, summarised (see
 * kube/denials.ts), not at every collection.
 */
export interface Denial {
  /** The refused request, e.g. `list nodes (cluster-wide)`. */
  request: string;
  /** A ClusterRole grants cluster-wide access, a Role the pod's namespace. */
  grantIn: "ClusterRole" | "Role";
  /** What it cost, e.g. `node_count omitted`. */
  cost: string;
  /** The whole explanation, for the debug log. */
  message: string;
}

/** What one source measured, or why it could not. */
export interface SourceResult {
  /** The metrics this source measured; empty when it failed. */
  snapshot: Snapshot;
  /** Set when the source failed, naming the source and the cause (e.g. a gRPC status). */
  error?: string;
  /** Non-fatal problems worth a warning (e.g. an unparsable quantity counted as 0). */
  warnings?: string[];
  /** Refused by access control (with `error` when the metrics are lost). */
  denials?: Denial[];
}

/** One source of metrics. It must settle (never hang) and must not throw: failures are values. */
export interface Source {
  /** Human name used in warnings, e.g. "scheduler models" or "kubernetes nodes". */
  name: string;
  /** Measures, within what `signal` allows: stopped, it settles promptly. */
  read(signal: AbortSignal): Promise<SourceResult>;
}
