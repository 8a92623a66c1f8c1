// A receiver assembled from a store: the routes with their counters, the
// latest snapshot of each cluster, /metrics and the pages wired in as views
// of the store's state, each rendered once per state version and shared by
// its readers (serve/read_side.ts). The command and the tests build receivers
// through this one function.

import type { RecordLevel } from "../config/levels.ts";
import type { Logger } from "../log/setup.ts";
import {
  bodyLimits,
  createReceiverApp,
  type ReceiverAppOptions,
} from "./app.ts";
import { BodyBudget } from "./ingest/mod.ts";
import {
  type FetchApp,
  type ReadBudget,
  ReadSide,
  type SharedView,
} from "./serve/mod.ts";
import { ClusterBook, type EventStore } from "./store/mod.ts";
import {
  clusterMetrics,
  PAGE_HEADERS,
  type PageAnswer,
  type PageContext,
  PROMETHEUS_CONTENT_TYPE,
  ReceiverCounters,
  receiverMetrics,
  renderClusterPage,
  renderOverview,
} from "./views/mod.ts";
import { isHodometerEvent } from "./event/mod.ts";

/** What a receiver is made of: the store and how events are recorded, the limits, the hooks. */
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
  /** Where events are recorded and read from. */
  store: EventStore;
  /** What is kept of the events, and the shape of /events. */
  recordLevel: RecordLevel;
  /** Where refusals and failures are said. */
  logger: Logger;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Snapshots to start from (restored from a durable store); empty unless given. */
  clusters?: ClusterBook;
  /** Bodies being read or handled, together; 16 of the largest unless given. */
  bodies?: BodyBudget;
  /** What the read side's answers may hold; READ_LIMITS unless given. */
  reads?: ReadBudget;
}

/** A receiver, and what the command and its server read of it. */
export interface Receiver {
  /** The routes: `app.fetch(request)`. */
  app: FetchApp;
  /** The bytes of the bodies being read: a shutdown waits for them. */
  bodies: BodyBudget;
  /** What /metrics counts. */
  counters: ReceiverCounters;
  /** The latest snapshot of each cluster. */
  clusters: ClusterBook;
  /** The read side's answers and their budget. */
  reads: ReadSide;
  /**
   * Says that the store's state changed outside a request (retention):
   * renders of the state before are not reused.
   */
  changed(): void;
}

/**
 * How long a page's render is reused while the store is unchanged: pages
 * tell the time ("12 s ago", silent since), /metrics does not.
 */
const PAGE_MAX_AGE_MS = 2_000;

/** A page's render, for the read side. */
const pageSource = (page: PageAnswer) => ({
  status: page.status,
  chunks: [page.html],
});

/** What the read routes are made of. */
interface ReadParts {
  reads: ReadSide;
  store: EventStore;
  recordLevel: RecordLevel;
  clusters: ClusterBook;
  counters: ReceiverCounters;
  bodies: BodyBudget;
  now: () => number;
  /** The store's state now. */
  version: () => number;
}

/** /metrics, the overview and a cluster's page, each a view shared by its readers. */
function readRoutes(p: ReadParts) {
  const { reads, store, clusters } = p;
  const context = (): PageContext => ({
    clusters,
    recordLevel: p.recordLevel,
    totalEvents: store.total(),
    heldEvents: store.held(),
    keptIn: store.keptIn,
    now: p.now(),
    otherEvents: p.counters.otherEvents,
  });
  const page = (req: Request, key: string, render: () => PageAnswer) =>
    reads.shared(req, {
      key,
      version: p.version(),
      maxAgeMs: PAGE_MAX_AGE_MS,
      headers: PAGE_HEADERS,
      render: () => pageSource(render()),
    });
  const metrics: Omit<SharedView, "version"> = {
    key: "/metrics",
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
    fresh: () =>
      receiverMetrics({
        counters: p.counters,
        clusters,
        bodies: p.bodies,
        reads: () => reads.budget.stats,
      }),
    render: () => ({ status: 200, chunks: clusterMetrics(clusters) }),
  };
  return {
    metrics: (req: Request) =>
      reads.shared(req, { ...metrics, version: p.version() }),
    overview: (req: Request, query: string) =>
      page(req, `/?${query}`, () =>
        renderOverview({
          ...context(),
          query,
          activeByDay: (sinceMs) => store.activeByDay(sinceMs),
        })),
    clusterPage: (req: Request, rawId: string) =>
      page(req, `/clusters/${rawId}`, () =>
        renderClusterPage({
          ...context(),
          rawId,
          history: (distinctId, max) => store.history(distinctId, max),
        })),
  };
}

/** A receiver of the store given: its routes, counters, clusters and read side. */
export function createReceiver(options: ReceiverOptions): Receiver {
  const now = options.now ?? Date.now;
  const { store, recordLevel } = options;
  const counters = new ReceiverCounters();
  const clusters = options.clusters ?? new ClusterBook();
  const { budget: bodies, timeoutMs } = bodyLimits(options);
  const reads = new ReadSide({
    budget: options.reads,
    idleMs: timeoutMs,
    onPiece: options.onStreamed,
    onAbandoned: () => counters.abandonedAnswers++,
    now,
  });
  // The store's state: renders of an older one are not reused.
  let version = 0;
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
    reads,
    onError: options.onError,
    limits: options.limits,
    health: options.health,
    probeStore: options.probeStore,
    retentionMs: options.retentionMs,
    onAccepted: (events, result, receivedAtMs) => {
      version++;
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
    ...readRoutes({
      reads,
      store,
      recordLevel,
      clusters,
      counters,
      bodies,
      now,
      version: () => version,
    }),
  });
  const changed = () => {
    version++;
  };
  return { app, bodies, counters, clusters, reads, changed };
}
