// One collection from the configuration: open the sources, read them all,
// say what failed, close everything.

import type { Logger } from "../log/setup.ts";
import { paceHeap } from "../runtime/heap_pacer.ts";
import { collect, type Collection } from "../collect/collector.ts";
import {
  type OpenedSources,
  type OpenOptions,
  openSources,
  type SourceConfig,
} from "../collect/open_sources.ts";

/** Headroom over the longest source timeout before a source is abandoned. */
const GIVE_UP_MARGIN_MS = 2_000;

export interface TakeOptions extends OpenOptions {
  /** Called with the opened sources before they are closed (cluster id lookup). */
  whileOpen?: (opened: OpenedSources) => Promise<void>;
}

export async function takeCollection(
  config: SourceConfig,
  options: TakeOptions,
): Promise<Collection> {
  const pacer = paceHeap();
  try {
    const opened = await openSources(config, options);
    try {
      return await collectOpened(config, options, opened);
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
): Promise<Collection> {
  const log: Logger = options.log;
  const [collection] = await Promise.all([
    collect(opened.sources, {
      level: config.metricsLevel,
      signal: options.signal,
      giveUpAfterMs: Math.max(config.schedulerTimeoutMs, config.kubeTimeoutMs) +
        GIVE_UP_MARGIN_MS,
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
export function groupFailures(failures: readonly string[]): string[] {
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
