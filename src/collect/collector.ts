// One collection: every source read concurrently, each failing on its own,
// the results merged, type-checked against the catalogue and filtered by level.

import { COLLECTOR_GIT_COMMIT, COLLECTOR_VERSION } from "../version.ts";
import type { MetricsLevel } from "../config/settings.ts";
import {
  CATALOGUE,
  filterByLevel,
  type MetricDef,
  type Snapshot,
} from "./catalogue.ts";
import type { Denial, Source, SourceResult } from "./source.ts";

export interface Collection {
  /** Metrics at the level, collector_version/commit included; no cluster_id. */
  snapshot: Snapshot;
  /** One line per failed source, naming it and the cause. */
  failures: string[];
  warnings: string[];
  /** Requests access control refused (their failures are in `failures` too). */
  denials: Denial[];
}

export interface CollectOptions {
  level: MetricsLevel;
  signal?: AbortSignal;
  /**
   * A source still running after this is abandoned (and aborted) as failed:
   * a misbehaving source can delay the collection, never hang it.
   */
  giveUpAfterMs: number;
}

export async function collect(
  sources: readonly Source[],
  options: CollectOptions,
): Promise<Collection> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  options.signal?.addEventListener("abort", stop, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const giveUp = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), options.giveUpAfterMs);
  });
  try {
    const results = await Promise.all(sources.map(async (source) => {
      const read = readSafely(source, abort.signal);
      const r = await Promise.race([read, giveUp]);
      if (r !== "late") return r;
      return {
        snapshot: {},
        error: `${source.name}: no answer within ${options.giveUpAfterMs} ms`,
      };
    }));
    return merge(results, options.level);
  } finally {
    clearTimeout(timer);
    abort.abort();
    options.signal?.removeEventListener("abort", stop);
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
      error: `${source.name}: unexpected failure: ${
        e instanceof Error ? e.message : String(e)
      }`,
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

/** Why a value cannot go into the event as this metric, or undefined. */
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
