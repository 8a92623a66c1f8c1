// One collection: the sources read in stages, one stage after another and the
// sources of a stage concurrently, each failing on its own; the results
// merged, type-checked against the catalogue and filtered by level.
//
// Stages keep the peak of memory down (docs/performance.md, "Where the
// agent's memory goes"): what one stage allocates (the Kubernetes lists'
// pages) is garbage before the next (the scheduler's streams, and the gRPC
// client it loads) begins. The event does not depend on the order.

import { COLLECTOR_GIT_COMMIT, COLLECTOR_VERSION } from "../version.ts";
import { errorMessage } from "../runtime/error_message.ts";
import type { MetricsLevel } from "../config/levels.ts";
import {
  CATALOGUE,
  filterByLevel,
  type Snapshot,
  typeProblem,
} from "../metrics/catalogue.ts";
import type { Denial, Source, SourceResult } from "../metrics/source.ts";

/** What one collection found, and what it could not read. */
export interface Collection {
  /** Metrics at the level, collector_version/commit included; no cluster_id. */
  snapshot: Snapshot;
  /** One line per failed source, naming it and the cause. */
  failures: string[];
  /** Problems that cost no source, e.g. a metric of the wrong type left out. */
  warnings: string[];
  /** Requests access control refused (their failures are in `failures` too). */
  denials: Denial[];
}

/** How one collection is made. */
export interface CollectOptions {
  /** Only the metrics reported at this level are kept. */
  level: MetricsLevel;
  /** Stops the collection: sources still reading are aborted, what was read is kept. */
  signal?: AbortSignal;
  /**
   * A source still running this long after its stage began is abandoned
   * (and aborted) as failed: a misbehaving source can delay the collection,
   * never hang it.
   */
  giveUpAfterMs: number;
  /** Called after each stage but the last (a full collection between stages). */
  betweenStages?: () => void;
}

/**
 * Sources read together. A function is called when the stage begins, so that
 * what its sources need (the gRPC client) is loaded only then; one that
 * throws fails the stage's sources as one, named by `name`.
 */
export type Stage =
  | readonly Source[]
  | { name: string; open: () => Promise<readonly Source[]> };

/**
 * One collection of one stage, every source read concurrently: the merged
 * snapshot, type-checked against the catalogue and filtered by level, and
 * each failed source named. Never rejects: a source that throws or hangs is
 * a failure like any other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { collect } from "./collector.ts";
 * import type { Source } from "../metrics/source.ts";
 *
 * const models: Source = {
 *   name: "scheduler models",
 *   read: () => Promise.resolve({ snapshot: { model_count: 3 } }),
 * };
 * const nodes: Source = {
 *   name: "kubernetes nodes",
 *   read: () =>
 *     Promise.resolve({ snapshot: {}, error: "kubernetes nodes: forbidden" }),
 * };
 * const collection = await collect([models, nodes], {
 *   level: "resource",
 *   giveUpAfterMs: 1_000,
 * });
 * assert.equal(collection.snapshot.model_count, 3);
 * assert.equal(collection.snapshot.node_count, undefined); // lost, never 0
 * assert.deepEqual(collection.failures, ["kubernetes nodes: forbidden"]);
 * ```
 */
export function collect(
  sources: readonly Source[],
  options: CollectOptions,
): Promise<Collection> {
  return collectStages([sources], options);
}

/** Stage after stage, the sources of each concurrently; one collection. */
export async function collectStages(
  stages: readonly Stage[],
  options: CollectOptions,
): Promise<Collection> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    const results: SourceResult[] = [];
    for (const [i, stage] of stages.entries()) {
      if (i > 0) options.betweenStages?.();
      if (abort.signal.aborted) break;
      results.push(
        ...await readStage(stage, abort.signal, options.giveUpAfterMs),
      );
    }
    return merge(results, options.level);
  } finally {
    abort.abort();
    options.signal?.removeEventListener("abort", stop);
  }
}

async function readStage(
  stage: Stage,
  signal: AbortSignal,
  giveUpAfterMs: number,
): Promise<SourceResult[]> {
  let sources: readonly Source[];
  if ("open" in stage) {
    try {
      sources = await stage.open();
    } catch (e) {
      return [{
        snapshot: {},
        error: `${stage.name}: unexpected failure: ${errorMessage(e)}`,
      }];
    }
  } else {
    sources = stage;
  }
  // What is still running when the stage ends (abandoned) is aborted then,
  // not when the whole collection ends.
  const stageAbort = new AbortController();
  const stop = () => stageAbort.abort();
  signal.addEventListener("abort", stop, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const giveUp = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), giveUpAfterMs);
  });
  try {
    return await Promise.all(sources.map(async (source) => {
      const read = readSafely(source, stageAbort.signal);
      const r = await Promise.race([read, giveUp]);
      if (r !== "late") return r;
      return {
        snapshot: {},
        error: `${source.name}: no answer within ${giveUpAfterMs} ms`,
      };
    }));
  } finally {
    clearTimeout(timer);
    stageAbort.abort();
    signal.removeEventListener("abort", stop);
  }
}

async function readSafely(
  source: Source,
  signal: AbortSignal,
): Promise<SourceResult> {
  try {
    return await source.read(signal);
  } catch (e) {
    return {
      snapshot: {},
      error: `${source.name}: unexpected failure: ${errorMessage(e)}`,
    };
  }
}

function merge(results: SourceResult[], level: MetricsLevel): Collection {
  const merged: Snapshot = {
    collector_version: COLLECTOR_VERSION,
    collector_git_commit: COLLECTOR_GIT_COMMIT,
  };
  const failures: string[] = [];
  const warnings: string[] = [];
  const denials: Denial[] = [];
  for (const r of results) {
    if (r.error !== undefined) failures.push(r.error);
    if (r.warnings) warnings.push(...r.warnings);
    if (r.denials) denials.push(...r.denials);
    if (r.error !== undefined) continue;
    for (const [name, value] of Object.entries(r.snapshot)) {
      const def = CATALOGUE.find((m) => m.name === name);
      const problem = def ? typeProblem(def, value) : "not in the catalogue";
      if (problem) {
        warnings.push(`metric ${name} omitted: ${problem}`);
        continue;
      }
      (merged as Record<string, unknown>)[name] = value;
    }
  }
  return {
    snapshot: filterByLevel(merged, level),
    failures,
    warnings,
    denials,
  };
}
