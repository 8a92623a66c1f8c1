// A receiver assembled from a store: the routes with their counters, the
// latest snapshot of each cluster, /metrics and the overview page wired in.
// The command and the tests build receivers through this one function.

import type { RecordLevel } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import type { Hono } from "hono";
import {
  createReceiverApp,
  IN_FLIGHT_BODIES,
  type ReceiverAppOptions,
} from "./app.ts";
import { BodyBudget } from "./body.ts";
import { ClusterBook } from "./clusters.ts";
import { HISTORY_EVENTS, renderOverview } from "./page.ts";
import { ReceiverCounters, renderMetrics } from "./prometheus.ts";
import type { EventStore } from "./store.ts";

export interface ReceiverOptions extends
  Pick<
    ReceiverAppOptions,
    | "maxBodyBytes"
    | "bodyTimeoutMs"
    | "onStreamed"
    | "onError"
    | "limits"
    | "health"
    | "onAccepted"
    | "acceptedTokens"
    | "readToken"
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
  /** Bodies being read or handled, together; 16 of the largest unless given. */
  bodies?: BodyBudget;
}

export interface Receiver {
  /** The routes: `app.fetch(request)`. */
  app: Hono;
  bodies: BodyBudget;
  counters: ReceiverCounters;
  clusters: ClusterBook;
}

export function createReceiver(options: ReceiverOptions): Receiver {
  const now = options.now ?? Date.now;
  const { store, recordLevel } = options;
  const counters = new ReceiverCounters();
  const clusters = options.clusters ?? new ClusterBook();
  const bodies = options.bodies ??
    new BodyBudget(IN_FLIGHT_BODIES * (options.maxBodyBytes ?? 1024 * 1024));
  const historySource = options.historySource ??
    (store.keepsEvents
      ? "the events held in memory"
      : `nothing (RECORD_LEVEL=${recordLevel} keeps no events; charts show the latest value)`);

  const app = createReceiverApp({
    store,
    recordLevel,
    logger: options.logger,
    now,
    acceptedTokens: options.acceptedTokens,
    readToken: options.readToken,
    maxBodyBytes: options.maxBodyBytes,
    bodies,
    bodyTimeoutMs: options.bodyTimeoutMs,
    onStreamed: options.onStreamed,
    onAbandoned: () => counters.abandonedAnswers++,
    onError: options.onError,
    limits: options.limits,
    health: options.health,
    onAccepted: (events, result, receivedAtMs) => {
      counters.received += events.length;
      counters.duplicates += result.duplicates;
      // A re-delivery changes nothing: only newly recorded events count.
      events.forEach((event, i) => {
        if (result.fresh[i]) clusters.observe(event, receivedAtMs);
      });
      options.onAccepted?.(events, result, receivedAtMs);
    },
    onRejected: (kind) => counters.rejected[kind]++,
    metrics: () => renderMetrics({ counters, clusters, bodies }),
    overview: () =>
      renderOverview({
        clusters,
        history: (distinctId) =>
          store.keepsEvents ? store.history(distinctId, HISTORY_EVENTS) : [],
        recordLevel,
        totalEvents: store.total(),
        historySource,
        now: now(),
      }),
  });
  return { app, bodies, counters, clusters };
}
