// `hodometer receive`: serve /track, /import, /events, /metrics, /healthz and
// the overview page until SIGTERM or SIGINT, then let requests in flight
// finish, stop accepting, and return 0 once they are done or the grace period
// is over, whatever the clients do (main exits then). RECORD_LEVEL=all keeps
// events in SQLite at --store (default <state dir>/events.db) unless it is
// `:memory:`.

import type { CommandContext } from "../command_context.ts";
import { EXIT } from "../exit_codes.ts";
import { logger } from "../log/setup.ts";
import { errorMessage } from "../runtime/error_message.ts";
import { getHeapStatistics } from "node:v8";
import { paceHeap } from "../runtime/heap_pacer.ts";
import { stopOnSignals } from "../runtime/stop_signals.ts";
import {
  ClusterBook,
  createMemoryStore,
  type EventStore,
  loadSqliteStore,
  type Retention,
  startRetention,
} from "./store/mod.ts";
import {
  ReadBudget,
  type ReceiverServer,
  runtimeWarning,
  startReceiverServer,
} from "./serve/mod.ts";
import type { RECEIVE_KEYS } from "./keys.ts";
import { createReceiver } from "./receiver.ts";

type ReceiveKey = typeof RECEIVE_KEYS[number];

export const IN_MEMORY = ":memory:";

type StatsStore = EventStore & { stats(): object };

/** The read token from its setting or its file; an error says what is wrong. */
async function readTokenOf(
  config: { readToken?: string; readTokenFile?: string },
): Promise<{ token?: string } | { error: string }> {
  if (config.readToken !== undefined && config.readTokenFile !== undefined) {
    return { error: "set READ_TOKEN or READ_TOKEN_FILE, not both" };
  }
  if (config.readTokenFile === undefined) return { token: config.readToken };
  try {
    const token = (await Deno.readTextFile(config.readTokenFile)).trim();
    if (token === "") {
      return { error: `READ_TOKEN_FILE ${config.readTokenFile} is empty` };
    }
    return { token };
  } catch (err) {
    return {
      error: `cannot read READ_TOKEN_FILE ${config.readTokenFile}: ${
        errorMessage(err)
      }`,
    };
  }
}

/** What opening the store did to its schema: created it, or migrated it. */
function logMigrated(
  log: ReturnType<typeof logger>,
  path: string,
  { from, to }: { from: number; to: number },
): void {
  if (from === to) return;
  if (from === 0) {
    log.info("event store {path}: created (schema version {to})", { path, to });
  } else {
    log.info(
      "event store {path}: schema migrated from version {from} to {to}",
      { path, from, to },
    );
  }
}

export async function receiveCommand(
  ctx: CommandContext<ReceiveKey>,
): Promise<number> {
  const c = ctx.config;
  const { listenHost, listenPort, recordLevel, maxEvents, retentionMs } = c;
  const log = logger("receive");
  const runtime = runtimeWarning();
  if (runtime !== null) log.warn("{warning}", { warning: runtime });
  const read = await readTokenOf(c);
  if ("error" in read) {
    log.error("{error}", { error: read.error });
    return 2;
  }
  const storePath = c.store ?? `${c.stateDir}/events.db`;
  const durable = recordLevel === "all" && storePath !== IN_MEMORY;
  const clusters = new ClusterBook({ maxClusters: c.maxClusters });

  let store: StatsStore;
  let onAccepted: (() => void) | undefined;
  let expireEvents: ((cutoffMs: number) => Promise<number>) | undefined;
  let probeStore: (() => string | null) | undefined;
  if (durable) {
    const { openSqliteStore } = await loadSqliteStore();
    const opened = openSqliteStore({ path: storePath });
    if (!opened.ok) {
      log.error("cannot open the event store {path}: {error}", {
        path: storePath,
        error: opened.error,
      });
      return EXIT.failed;
    }
    const sqlite = opened.store;
    store = sqlite;
    logMigrated(log, storePath, sqlite.migrated);
    clusters.restore(sqlite.latestPerCluster(clusters.maxClusters));
    expireEvents = (cutoff) => sqlite.deleteReceivedBefore(cutoff);
    probeStore = () => sqlite.probeWrite();
  } else {
    const memory = createMemoryStore({
      recordLevel,
      maxEvents,
      maxBytes: c.maxEventsBytes,
    });
    store = memory;
    if (c.store !== undefined && recordLevel !== "all") {
      log.info("--store is used with RECORD_LEVEL=all only; ignoring it");
    }
    if (recordLevel === "all") {
      expireEvents = (cutoff) => memory.deleteReceivedBefore(cutoff);
    }
    let droppedLogged = 0;
    onAccepted = () => {
      const { droppedEvents } = memory.stats();
      // Once when the ring first overflows, then once per ring-full of drops.
      const due = droppedEvents > 0 &&
        (droppedLogged === 0 || droppedEvents - droppedLogged >= maxEvents);
      if (!due) return;
      droppedLogged = droppedEvents;
      log.info(
        "keeping the newest events within {maxEvents} events and {maxBytes} bytes; {droppedEvents} older one(s) dropped so far",
        { maxEvents, maxBytes: c.maxEventsBytes, droppedEvents },
      );
    };
  }

  // V8 would let request garbage pile up towards its 96 MB limit between
  // full collections; a receiver stays near its live heap instead, also
  // while a large answer (old events of any size) is being streamed or a
  // shared render made. Buffers count too: a body that comes a few bytes at
  // a time arrives in a 64 KiB buffer per read, garbage that V8 alone
  // collects only tens of MB later. The shared renders' bytes do not: they
  // are live, bounded by the read budget, and a collection frees none.
  const reads = new ReadBudget();
  const pacer = paceHeap({
    everyMs: 100,
    usedHeap: () => {
      const heap = getHeapStatistics();
      return heap.used_heap_size + heap.external_memory -
        reads.sharedBytes;
    },
  });
  const onError = (error: unknown) =>
    log.error("request failed: {error}", { error: errorMessage(error) });
  const { app, bodies, counters, changed } = createReceiver({
    store,
    recordLevel,
    logger: log,
    clusters,
    acceptedTokens: new Set(c.acceptedTokens),
    readToken: read.token,
    maxBodyBytes: c.maxBodyBytes,
    bodyTimeoutMs: c.bodyTimeoutMs,
    health: () => ({ ...store.stats(), clusters: clusters.size }),
    probeStore,
    retentionMs,
    onAccepted,
    onStreamed: pacer.check,
    onError,
    reads,
  });

  let retention: Retention | undefined;
  if (retentionMs > 0) {
    retention = startRetention({
      retentionMs,
      logger: log,
      expire: async (cutoff) => {
        const events = expireEvents ? await expireEvents(cutoff) : 0;
        const forgotten = clusters.forgetSeenBefore(cutoff);
        counters.expiredClusters += forgotten;
        if (events > 0 || forgotten > 0) changed();
        return { events, clusters: forgotten };
      },
    });
  }

  const stop = Promise.withResolvers<string>();
  const signals = stopOnSignals((signal) => stop.resolve(signal));
  try {
    let server: ReceiverServer;
    try {
      server = startReceiverServer({
        hostname: listenHost,
        port: listenPort,
        app,
        bodies,
        onError,
        onAcceptError: (error) =>
          log.warn("cannot accept a connection: {error}", {
            error: errorMessage(error),
          }),
        headerTimeoutMs: c.headerTimeoutMs,
        idleTimeoutMs: c.idleTimeoutMs,
        maxConnections: c.maxConnections,
      });
      // Without the per-connection server there are no connection figures.
      if (server.fallback === null) counters.connections = server.connections;
      for (const warning of [server.fallback, server.listenNote]) {
        if (warning !== null) log.warn("{warning}", { warning });
      }
    } catch (err) {
      log.error("cannot listen on {host}:{port}: {error}", {
        host: listenHost,
        port: listenPort,
        error: errorMessage(err),
      });
      return EXIT.failed;
    }
    const readSide = read.token === undefined
      ? "/events, /metrics and the page are open"
      : "/events, /metrics and the page need the read token";
    log.info(`listening on ${server.url}; ${readSide}`, {
      recordLevel,
      store: durable ? storePath : "memory",
      storedEvents: store.total(),
      clusters: clusters.size,
      readToken: read.token === undefined ? "none" : "set",
      acceptedTokens: c.acceptedTokens.length === 0
        ? "any"
        : c.acceptedTokens.length,
      ...(durable ? { retentionMs } : { maxEvents }),
    });

    const signal = await stop.promise;
    log.info(
      "{signal}: refusing new requests; finishing requests in flight (at most {graceMs} ms)",
      { signal, graceMs: c.gracePeriodMs },
    );
    const finished = await server.shutdown(c.gracePeriodMs);
    if (!finished) {
      log.warn(
        "the grace period of {graceMs} ms is over with requests or connections still open; exiting",
        { graceMs: c.gracePeriodMs },
      );
    }
    log.info("stopped; {totalEvents} event(s) received", {
      totalEvents: store.total(),
    });
    return EXIT.ok;
  } finally {
    signals.dispose();
    await retention?.stop();
    pacer.stop();
    store.close();
  }
}
