// A receiver assembled from a store: the routes with their counters, the
// latest snapshot of each cluster, /metrics and the overview page wired in.
// The command and the tests build receivers through this one function.

import type { RecordLevel } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import {
  createReceiverApp,
  IN_FLIGHT_BODIES,
  type ReceiverAppOptions,
} from "./app.ts";
import { BodyBudget } from "./body.ts";
import type { FetchApp } from "./server.ts";
import { ClusterBook } from "./clusters.ts";
import type { PageContext } from "./page.ts";
import { renderOverview } from "./page_overview.ts";
import { renderClusterPage } from "./page_cluster.ts";
import { ReceiverCounters, renderMetrics } from "./prometheus.ts";
import type { EventStore } from "./store.ts";
import { isHodometerEvent } from "./seen_at.ts";

export interface ReceiverOptions extends
  Pick<
    ReceiverAppOptions,
    | "maxBodyBytes"
    | "bodyTimeoutMs"
    | "onStreamed"
    | "onError"
    | "limits"
    | "health"
    | "probeStore"
    | "retentionMs"
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
  /** Bodies being read or handled, together; 16 of the largest unless given. */
  bodies?: BodyBudget;
}

export interface Receiver {
  /** The routes: `app.fetch(request)`. */
  app: FetchApp;
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
  const context = (): PageContext => ({
    clusters,
    recordLevel,
    totalEvents: store.total(),
    heldEvents: store.held(),
    keptIn: store.keptIn,
    now: now(),
    otherEvents: counters.otherEvents,
  });

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
    probeStore: options.probeStore,
    retentionMs: options.retentionMs,
    onAccepted: (events, result, receivedAtMs) => {
      counters.received += events.length;
      counters.duplicates += result.duplicates;
      // A re-delivery changes nothing: only newly recorded events count.
      events.forEach((event, i) => {
        if (!result.fresh[i]) return;
        if (isHodometerEvent(event)) clusters.observe(event, receivedAtMs);
        else counters.otherEvents++;
      });
      options.onAccepted?.(events, result, receivedAtMs);
    },
    onRejected: (kind) => counters.rejected[kind]++,
    metrics: () => renderMetrics({ counters, clusters, bodies }),
    overview: (query) =>
      renderOverview({
        ...context(),
        query,
        activeByDay: (sinceMs) => store.activeByDay(sinceMs),
      }),
    clusterPage: (rawId) =>
      renderClusterPage({
        ...context(),
        rawId,
        history: (distinctId, max) => store.history(distinctId, max),
      }),
  });
  return { app, bodies, counters, clusters };
}
