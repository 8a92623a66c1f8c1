// Retention of the durable store: events received longer ago than the
// retention period are deleted at start and then on a schedule (hourly unless
// set). By receive time, not by the event's own `time`: the receiver's clock
// is the one it can trust; a sender with a wrong or hostile clock could
// otherwise have its events deleted at once or kept forever.

import type { Logger } from "../log/setup.ts";

export const RETENTION_INTERVAL_MS = 3_600_000;

export interface Expiring {
  deleteReceivedBefore(cutoffMs: number): Promise<number>;
}

export interface RetentionOptions {
  store: Expiring;
  /** Keep events this long (ms); must be above 0. */
  retentionMs: number;
  /** Time between sweeps; an hour unless set. */
  intervalMs?: number;
  now?: () => number;
  logger: Logger;
}

export interface Retention {
  /** Deletes what is due now; resolves to how many events. */
  sweep(): Promise<number>;
  /** Stops the schedule and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/** Sweeps once now, then every interval, until stop(). */
export function startRetention(options: RetentionOptions): Retention {
  const now = options.now ?? Date.now;
  const log = options.logger;
  let running: Promise<number> = Promise.resolve(0);
  let stopped = false;

  const sweepOnce = async (): Promise<number> => {
    const cutoff = now() - options.retentionMs;
    try {
      const deleted = await options.store.deleteReceivedBefore(cutoff);
      if (deleted > 0) {
        log.info(
          "retention: deleted {deleted} event(s) received before {cutoff}",
          {
            deleted,
            cutoff: new Date(cutoff).toISOString(),
          },
        );
      }
      return deleted;
    } catch (err) {
      log.warn("retention: could not delete old events: {error}", {
        error: err instanceof Error ? err.message : String(err),
      });
      return 0;
    }
  };
  const sweep = () => {
    running = running.then(sweepOnce);
    return running;
  };

  sweep();
  const timer = setInterval(() => {
    if (!stopped) sweep();
  }, options.intervalMs ?? RETENTION_INTERVAL_MS);

  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
