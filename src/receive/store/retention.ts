// Retention: events received longer ago than the retention period are deleted
// (from the SQLite store, or the memory store of RECORD_LEVEL=all), and
// clusters last heard from before it are forgotten by /metrics and the page, at
// start and then on a schedule (hourly unless set). By receive time, not by the
// event's own `time`: the receiver's clock is the one it can trust; a sender
// with a wrong or hostile clock could otherwise have its events deleted at once
// or kept forever.

import type { Logger } from "../../log/setup.ts";
import { errorMessage } from "../../runtime/error_message.ts";
import { HOUR_MS } from "../../runtime/units.ts";

const RETENTION_INTERVAL_MS = HOUR_MS;

/** What one sweep removed. */
export interface Expired {
  /** Events deleted. */
  events: number;
  /** Clusters forgotten. */
  clusters: number;
}

/** What retention removes, how long it keeps, and how often it sweeps. */
export interface RetentionOptions {
  /** Deletes and forgets what was received before `cutoffMs`. */
  expire(cutoffMs: number): Promise<Expired>;
  /** Keep events this long (ms); must be above 0. */
  retentionMs: number;
  /** Time between sweeps; an hour unless set. */
  intervalMs?: number;
  /** Milliseconds since the epoch; Date.now unless set. */
  now?: () => number;
  /** Where sweeps that removed something, and failed ones, are said. */
  logger: Logger;
}

/** Retention running on its schedule. */
export interface Retention {
  /** Expires what is due now. */
  sweep(): Promise<Expired>;
  /** Stops the schedule and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/** Sweeps once now, then every interval, until stop(). */
export function startRetention(options: RetentionOptions): Retention {
  const now = options.now ?? Date.now;
  const log = options.logger;
  const none: Expired = { events: 0, clusters: 0 };
  let running: Promise<Expired> = Promise.resolve(none);
  let stopped = false;

  const sweepOnce = async (): Promise<Expired> => {
    const cutoff = now() - options.retentionMs;
    try {
      const expired = await options.expire(cutoff);
      if (expired.events > 0 || expired.clusters > 0) {
        log.info(
          "retention: deleted {events} event(s) and forgot {clusters} cluster(s) received before {cutoff}",
          { ...expired, cutoff: new Date(cutoff).toISOString() },
        );
      }
      return expired;
    } catch (err) {
      log.warn("retention: could not delete old events: {error}", {
        error: errorMessage(err),
      });
      return none;
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
