// One collection from the configuration: open the sources, read them all,
// say what failed, close everything.

import type { Logger } from "../log/setup.ts";
import { paceHeap, pacingFor } from "../runtime/heap_pacer.ts";
import { type Collection, collectStages } from "../collect/collector.ts";
import {
  type OpenedSources,
  type OpenOptions,
  openSources,
  type SourceConfig,
} from "../collect/open_sources.ts";

/** Headroom over the longest source timeout before a source is abandoned. */
const GIVE_UP_MARGIN_MS = 2_000;

/** How takeCollection opens its sources, and what it does while they are open. */
export interface TakeOptions extends OpenOptions {
  /** Called with the opened sources before they are closed (cluster id lookup). */
  whileOpen?: (opened: OpenedSources) => Promise<void>;
  /** The cgroup's memory limit, when there is one: the heap pacing is sized from it. */
  memoryLimitBytes?: number;
}

/** A collection, and what its JavaScript heap held at most meanwhile. */
export interface TakenCollection extends Collection {
  /** Peak of V8's committed heap and buffers during the collection (0 unknown). */
  heapPeakBytes: number;
}

/**
 * One collection from the configuration: opens the sources, reads them stage
 * by stage with the heap paced, logs what failed (failures of one cause in
 * one line), and closes them. Never rejects for a source's failure: it is in
 * `failures`.
 */
export async function takeCollection(
  config: SourceConfig,
  options: TakeOptions,
): Promise<TakenCollection> {
  const pacer = paceHeap(pacingFor(options.memoryLimitBytes));
  try {
    const opened = await openSources(config, options);
    try {
      const collection = await collectOpened(config, options, opened, () =>
        // What one stage left is garbage before the next one begins.
        pacer.collectNow());
      pacer.check();
      return { ...collection, heapPeakBytes: pacer.peakHeldBytes };
    } finally {
      opened.close();
    }
  } finally {
    pacer.stop();
  }
}

async function collectOpened(
  config: SourceConfig,
  options: TakeOptions,
  opened: OpenedSources,
  betweenStages: () => void,
): Promise<Collection> {
  const log: Logger = options.log;
  const [collection] = await Promise.all([
    collectStages(opened.stages, {
      level: config.metricsLevel,
      signal: options.signal,
      giveUpAfterMs: Math.max(config.schedulerTimeoutMs, config.kubeTimeoutMs) +
        GIVE_UP_MARGIN_MS,
      betweenStages,
    }),
    options.whileOpen?.(opened),
  ]);
  // What went wrong while opening (TLS material unreadable) cost the
  // scheduler's metrics: a failure like any source's.
  collection.failures.unshift(...opened.warnings);
  // As properties, not templates: a message may hold braces of its own.
  for (const warning of collection.warnings) {
    log.warn("{warning}", { warning });
  }
  // What access control refused is summarised once per process by the
  // caller; here it goes to the debug log only.
  const denied = new Set(collection.denials.map((d) => d.message));
  for (const message of denied) log.debug("{denied}", { denied: message });
  const failures = collection.failures.filter((f) => !denied.has(f));
  for (const failure of groupFailures(failures)) {
    log.warn("{failure}", { failure });
  }
  return collection;
}

const SCHEDULER_FAILURE = /^scheduler (\w+): (.*); (.*) omitted$/;

/**
 * Scheduler sources that failed for one cause (most often: the scheduler is
 * unreachable) are said in one line instead of five.
 */
function groupFailures(failures: readonly string[]): string[] {
  const byCause = new Map<string, { names: string[]; lost: string[] }>();
  const out: string[] = [];
  for (const failure of failures) {
    const [, name, cause, lost] = SCHEDULER_FAILURE.exec(failure) ?? [];
    if (name === undefined || cause === undefined || lost === undefined) {
      out.push(failure);
      continue;
    }
    const group = byCause.get(cause) ?? { names: [], lost: [] };
    group.names.push(name);
    group.lost.push(lost);
    byCause.set(cause, group);
  }
  for (const [cause, { names, lost }] of byCause) {
    out.push(
      `scheduler ${names.join(", ")}: ${cause}; ${lost.join(", ")} omitted`,
    );
  }
  return out;
}
