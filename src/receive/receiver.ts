// A receiver assembled from a store: the HTTP app with its counters, the
// latest snapshot of each cluster, /metrics and the overview page wired in.
// The command and the tests build receivers through this one function.

import type { Hono } from "hono";
import type { RecordLevel } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import { createReceiverApp, type ReceiverAppOptions } from "./app.ts";
import { ClusterBook } from "./clusters.ts";
import { HISTORY_EVENTS, renderOverview } from "./page.ts";
import { ReceiverCounters, renderMetrics } from "./prometheus.ts";
import type { EventStore, ReceivedEvent } from "./store.ts";

export interface ReceiverOptions extends
  Pick<
    ReceiverAppOptions,
    "maxBodyBytes" | "maxDecodedBytes" | "maxBatch" | "health" | "onAccepted"
  > {
  store: EventStore;
  recordLevel: RecordLevel;
  logger: Logger;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Snapshots to start from (restored from a durable store); empty unless given. */
  clusters?: ClusterBook;
  /** How the page names where chart history comes from. */
  historySource?: string;
}

export interface Receiver {
  app: Hono;
  counters: ReceiverCounters;
  clusters: ClusterBook;
}

export function createReceiver(options: ReceiverOptions): Receiver {
  const now = options.now ?? Date.now;
  const { store, recordLevel } = options;
  const counters = new ReceiverCounters();
  const clusters = options.clusters ?? new ClusterBook();
  const historySource = options.historySource ??
    (recordLevel === "all"
      ? "the events held in memory"
      : `nothing (RECORD_LEVEL=${recordLevel} keeps no events; charts show the latest value)`);
  const history = (distinctId: string): ReceivedEvent[] =>
    store.list({ distinctId, limit: HISTORY_EVENTS });

  const app = createReceiverApp({
    store,
    recordLevel,
    logger: options.logger,
    maxBodyBytes: options.maxBodyBytes,
    maxDecodedBytes: options.maxDecodedBytes,
    maxBatch: options.maxBatch,
    health: options.health,
    onAccepted: (events, result) => {
      counters.received += events.length;
      counters.duplicates += result.duplicates;
      const at = now();
      for (const event of events) clusters.observe(event, at);
      options.onAccepted?.(events, result);
    },
    onRejected: (kind) => counters.rejected[kind]++,
    metrics: () => renderMetrics({ counters, clusters }),
    overview: () =>
      renderOverview({
        clusters,
        history,
        recordLevel,
        totalEvents: store.total(),
        historySource,
        now: now(),
      }),
  });
  return { app, counters, clusters };
}
