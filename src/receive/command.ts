// `hodometer receive`: serve /track, /events, /metrics, /healthz and the
// overview page until SIGTERM or SIGINT, then stop accepting, answer what is
// in flight and exit 0. RECORD_LEVEL=all keeps events in SQLite at --store
// (default <state dir>/events.db) unless it is `:memory:`.

import type { CommandContext } from "../command_context.ts";
import { EXIT } from "../exit_codes.ts";
import { logger } from "../log/setup.ts";
import { paceHeap } from "../runtime/heap_pacer.ts";
import { ClusterBook } from "./clusters.ts";
import { createMemoryStore } from "./memory_store.ts";
import { createReceiver } from "./receiver.ts";
import { type Retention, startRetention } from "./retention.ts";
import { startReceiver } from "./server.ts";
import type { EventStore } from "./store.ts";

type ReceiveKey =
  | "listenHost"
  | "listenPort"
  | "recordLevel"
  | "maxEvents"
  | "stateDir"
  | "store"
  | "retentionMs";

const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;
export const IN_MEMORY = ":memory:";

type StatsStore = EventStore & { stats(): object };

export async function receiveCommand(
  ctx: CommandContext<ReceiveKey>,
): Promise<number> {
  const { listenHost, listenPort, recordLevel, maxEvents, retentionMs } =
    ctx.config;
  const log = logger("receive");
  const storePath = ctx.config.store ?? `${ctx.config.stateDir}/events.db`;
  const durable = recordLevel === "all" && storePath !== IN_MEMORY;
  const clusters = new ClusterBook();

  let store: StatsStore;
  let retention: Retention | undefined;
  let onAccepted: (() => void) | undefined;
  if (durable) {
    const { openSqliteStore } = await import("./sqlite_store.ts");
    const opened = openSqliteStore({
      path: storePath,
      maxListEvents: maxEvents,
    });
    if (!opened.ok) {
      log.error("cannot open the event store {path}: {error}", {
        path: storePath,
        error: opened.error,
      });
      return EXIT.failed;
    }
    const sqlite = opened.store;
    store = sqlite;
    const { from, to } = sqlite.migrated;
    if (from !== to) {
      log.info(
        "event store {path}: schema migrated from version {from} to {to}",
        {
          path: storePath,
          from,
          to,
        },
      );
    }
    clusters.restore(sqlite.latestPerCluster(clusters.maxClusters));
    if (retentionMs > 0) {
      retention = startRetention({ store: sqlite, retentionMs, logger: log });
    }
  } else {
    const memory = createMemoryStore({ recordLevel, maxEvents });
    store = memory;
    if (ctx.config.store !== undefined && recordLevel !== "all") {
      log.info("--store is used with RECORD_LEVEL=all only; ignoring it");
    }
    if (retentionMs > 0) {
      log.info("--retention applies to the SQLite store only; ignoring it");
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
        "keeping the newest {maxEvents} events; {droppedEvents} older one(s) dropped so far",
        { maxEvents, droppedEvents },
      );
    };
  }

  const { app } = createReceiver({
    store,
    recordLevel,
    logger: log,
    clusters,
    historySource: durable
      ? "the SQLite store"
      : recordLevel === "all"
      ? `the newest ${maxEvents} events held in memory`
      : undefined,
    health: () => ({ ...store.stats(), clusters: clusters.size }),
    onAccepted,
  });

  // V8 would let request garbage pile up towards its 96 MB limit between
  // full collections; a receiver stays near its live heap instead.
  const pacer = paceHeap({ everyMs: 100 });
  const stop = Promise.withResolvers<string>();
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => stop.resolve(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  try {
    let server;
    try {
      server = startReceiver({
        hostname: listenHost,
        port: listenPort,
        app,
        onError: (error) => log.error("request failed: {error}", { error }),
      });
    } catch (err) {
      log.error("cannot listen on {host}:{port}: {error}", {
        host: listenHost,
        port: listenPort,
        error: err instanceof Error ? err.message : String(err),
      });
      return EXIT.failed;
    }
    log.info(`listening on ${server.url}`, {
      recordLevel,
      store: durable ? storePath : "memory",
      storedEvents: store.total(),
      clusters: clusters.size,
      ...(durable ? { retentionMs } : { maxEvents }),
    });

    const signal = await stop.promise;
    log.info("{signal}: refusing new requests; finishing requests in flight", {
      signal,
    });
    await server.shutdown();
    log.info("stopped; {totalEvents} event(s) received", {
      totalEvents: store.total(),
    });
    return EXIT.ok;
  } finally {
    for (const [signal, handler] of handlers) {
      Deno.removeSignalListener(signal, handler);
    }
    await retention?.stop();
    pacer.stop();
    store.close();
  }
}
