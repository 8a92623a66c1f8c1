// The contract between the collector and its sources (scheduler rpcs, Kubernetes).

import type { Snapshot } from "./catalogue.ts";

export interface SourceResult {
  /** The metrics this source measured; empty when it failed. */
  snapshot: Snapshot;
  /** Set when the source failed, naming the source and the cause (e.g. a gRPC status). */
  error?: string;
  /** Non-fatal problems worth a warning (e.g. an unparsable quantity counted as 0). */
  warnings?: string[];
}

/** One source of metrics. It must settle (never hang) and must not throw: failures are values. */
export interface Source {
  /** Human name used in warnings, e.g. "scheduler models" or "kubernetes nodes". */
  name: string;
  read(signal: AbortSignal): Promise<SourceResult>;
}
