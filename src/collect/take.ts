// One collection from the configuration: open the sources, read them all,
// say what failed, close everything.

import type { Logger } from "../log/setup.ts";
import { collect, type Collection } from "./collector.ts";
import {
  type OpenedSources,
  type OpenOptions,
  openSources,
  type SourceConfig,
} from "./open_sources.ts";

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
  const log: Logger = options.log;
  const opened = await openSources(config, options);
  try {
    const [collection] = await Promise.all([
      collect(opened.sources, {
        level: config.metricsLevel,
        signal: options.signal,
        giveUpAfterMs:
          Math.max(config.schedulerTimeoutMs, config.kubeTimeoutMs) +
          GIVE_UP_MARGIN_MS,
      }),
      options.whileOpen?.(opened),
    ]);
    collection.warnings.unshift(...opened.warnings);
    for (const warning of collection.warnings) log.warn(warning);
    for (const failure of collection.failures) {
      log.warn("{failure}; its metrics are omitted", { failure });
    }
    return collection;
  } finally {
    opened.close();
  }
}
