// `hodometer receive`: serve /track, /import, /events, /metrics, /healthz and
// the overview page until SIGTERM or SIGINT, then let requests in flight
// finish, stop accepting, and return 0 once they are done or the grace period
// is over, whatever the clients do (main exits then). RECORD_LEVEL=all keeps
// events in SQLite at --store (default <state dir>/events.db) unless it is
// `:memory:`.

import type { CommandContext } from "../command_context.ts";
import { EXIT } from "../exit_codes.ts";
import { type Logger, logger } from "../log/setup.ts";
import { errorMessage } from "../runtime/error_message.ts";
import { getHeapStatistics } from "node:v8";
import { type HeapPacer, paceHeap } from "../runtime/heap_pacer.ts";
import { stopOnSignals } from "../runtime/stop_signals.ts";
import {
  ClusterBook,
  createMemoryStore,
  type EventStore,
  loadSqliteStore,
  type MemoryStore,
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
import { createReceiver, type Receiver } from "./receiver.ts";

/** A setting of `hodometer receive`. */
export type ReceiveKey = typeof RECEIVE_KEYS[number];
/** The settings of `hodometer receive`, resolved. */
type ReceiveConfig = CommandContext<ReceiveKey>["config"];

/** The --store value that keeps events in memory even at RECORD_LEVEL=all. */
export const IN_MEMORY = ":memory:";

/** Heap use is looked at this often while answers are streamed (ms). */
const HEAP_PACING_MS = 100;

type StatsStore = EventStore & { stats(): object };

/** The event store the command runs on, and what the receiver does with it. */
interface OpenStore {
  store: StatsStore;
  /** Where the events are kept: the SQLite file, or "memory". */
  keptIn: string;
  /** Called after each request's events were recorded. */
  onAccepted?: () => void;
  /** Deletes the events received before a time; absent when none are kept. */
  expireEvents?: (cutoffMs: number) => Promise<number>;
  /** A small write, to see a failing store recover. */
  probeStore?: () => string | null;
}

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
  log: Logger,
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

/**
 * The store the settings ask for: SQLite at --store (default <state
 * dir>/events.db) at RECORD_LEVEL=all unless it is :memory:, else memory.
 * The clusters are restored from a SQLite store. Null when it cannot be
 * opened (said in the log).
 */
async function openStore(
  c: ReceiveConfig,
  log: Logger,
  clusters: ClusterBook,
): Promise<OpenStore | null> {
  const path = c.store ?? `${c.stateDir}/events.db`;
  if (c.recordLevel === "all" && path !== IN_MEMORY) {
    return await openDurableStore(path, log, clusters);
  }
  if (c.store !== undefined && c.recordLevel !== "all") {
    log.info("--store is used with RECORD_LEVEL=all only; ignoring it");
  }
  const memory = createMemoryStore({
    recordLevel: c.recordLevel,
    maxEvents: c.maxEvents,
    maxBytes: c.maxEventsBytes,
  });
  return {
    store: memory,
    keptIn: "memory",
    onAccepted: droppedEventsLog(memory, c, log),
    expireEvents: c.recordLevel === "all"
      ? (cutoff) => memory.deleteReceivedBefore(cutoff)
      : undefined,
  };
}

/** The SQLite store at `path`, its clusters restored into `clusters`; null when it cannot be opened. */
async function openDurableStore(
  path: string,
  log: Logger,
  clusters: ClusterBook,
): Promise<OpenStore | null> {
  const { openSqliteStore } = await loadSqliteStore();
  const opened = openSqliteStore({ path });
  if (!opened.ok) {
    log.error("cannot open the event store {path}: {error}", {
      path,
      error: opened.error,
    });
    return null;
  }
  const sqlite = opened.store;
  logMigrated(log, path, sqlite.migrated);
  clusters.restore(sqlite.latestPerCluster(clusters.maxClusters));
  return {
    store: sqlite,
    keptIn: path,
    expireEvents: (cutoff) => sqlite.deleteReceivedBefore(cutoff),
    probeStore: () => sqlite.probeWrite(),
  };
}

/**
 * Says when the memory store drops its oldest events to stay within its
 * limits: once when the ring first overflows, then once per ring-full of drops.
 */
export function droppedEventsLog(
  memory: MemoryStore,
  limits: { maxEvents: number; maxEventsBytes: number },
  log: Logger,
): () => void {
  const { maxEvents, maxEventsBytes: maxBytes } = limits;
  let droppedLogged = 0;
  return () => {
    const { droppedEvents } = memory.stats();
    const due = droppedEvents > 0 &&
      (droppedLogged === 0 || droppedEvents - droppedLogged >= maxEvents);
    if (!due) return;
    droppedLogged = droppedEvents;
    log.info(
      "keeping the newest events within {maxEvents} events and {maxBytes} bytes; {droppedEvents} older one(s) dropped so far",
      { maxEvents, maxBytes, droppedEvents },
    );
  };
}

/**
 * The heap kept near its live size while the receiver serves. V8 would let
 * request garbage pile up towards its 96 MB limit between full collections;
 * a receiver stays near its live heap instead, also while a large answer (old
 * events of any size) is being streamed or a shared render made. Buffers
 * count too: a body that comes a few bytes at a time arrives in a 64 KiB
 * buffer per read, garbage that V8 alone collects only tens of MB later. The
 * shared renders' bytes do not: they are live, bounded by the read budget,
 * and a collection frees none.
 */
function heapPacing(reads: ReadBudget): HeapPacer {
  return paceHeap({
    everyMs: HEAP_PACING_MS,
    usedHeap: () => {
      const heap = getHeapStatistics();
      return heap.used_heap_size + heap.external_memory - reads.sharedBytes;
    },
  });
}

/** Retention every interval, when RETENTION is set: old events deleted, silent clusters forgotten. */
function retentionOf(
  c: ReceiveConfig,
  log: Logger,
  opened: OpenStore,
  receiver: Pick<Receiver, "clusters" | "counters" | "changed">,
): Retention | undefined {
  if (c.retentionMs <= 0) return undefined;
  return startRetention({
    retentionMs: c.retentionMs,
    logger: log,
    expire: async (cutoff) => {
      const events = opened.expireEvents
        ? await opened.expireEvents(cutoff)
        : 0;
      const forgotten = receiver.clusters.forgetSeenBefore(cutoff);
      receiver.counters.expiredClusters += forgotten;
      if (events > 0 || forgotten > 0) receiver.changed();
      return { events, clusters: forgotten };
    },
  });
}

/** The receiver's server listening as the settings say; null when it cannot (said in the log). */
function listenOn(
  c: ReceiveConfig,
  log: Logger,
  receiver: Receiver,
  onError: (error: unknown) => void,
): ReceiverServer | null {
  let server: ReceiverServer;
  try {
    server = startReceiverServer({
      hostname: c.listenHost,
      port: c.listenPort,
      app: receiver.app,
      bodies: receiver.bodies,
      onError,
      onAcceptError: (error) =>
        log.warn("cannot accept a connection: {error}", {
          error: errorMessage(error),
        }),
      headerTimeoutMs: c.headerTimeoutMs,
      idleTimeoutMs: c.idleTimeoutMs,
      maxConnections: c.maxConnections,
    });
  } catch (err) {
    log.error("cannot listen on {host}:{port}: {error}", {
      host: c.listenHost,
      port: c.listenPort,
      error: errorMessage(err),
    });
    return null;
  }
  // Without the per-connection server there are no connection figures.
  if (server.fallback === null) {
    receiver.counters.connections = server.connections;
  }
  for (const warning of [server.fallback, server.listenNote]) {
    if (warning !== null) log.warn("{warning}", { warning });
  }
  return server;
}

/** The line that says the receiver listens, where, and how it is set up. */
function logListening(
  c: ReceiveConfig,
  log: Logger,
  server: ReceiverServer,
  setup: { opened: OpenStore; clusters: ClusterBook; readToken?: string },
): void {
  const { opened, clusters, readToken } = setup;
  const readSide = readToken === undefined
    ? "/events, /metrics and the page are open"
    : "/events, /metrics and the page need the read token";
  const durable = opened.keptIn !== "memory";
  log.info(`listening on ${server.url}; ${readSide}`, {
    recordLevel: c.recordLevel,
    store: opened.keptIn,
    storedEvents: opened.store.total(),
    clusters: clusters.size,
    readToken: readToken === undefined ? "none" : "set",
    acceptedTokens: c.acceptedTokens.length === 0
      ? "any"
      : c.acceptedTokens.length,
    ...(durable ? { retentionMs: c.retentionMs } : { maxEvents: c.maxEvents }),
  });
}

/** Shuts the server down within the grace period, once `signal` came; the exit code. */
async function shutDown(
  c: ReceiveConfig,
  log: Logger,
  server: ReceiverServer,
  signal: string,
): Promise<number> {
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
  return EXIT.ok;
}

/**
 * `hodometer receive`: the store, the receiver on it, and its server, until
 * SIGTERM or SIGINT; the exit code.
 */
export async function receiveCommand(
  ctx: CommandContext<ReceiveKey>,
): Promise<number> {
  const c = ctx.config;
  const log = logger("receive");
  const runtime = runtimeWarning();
  if (runtime !== null) log.warn("{warning}", { warning: runtime });
  const read = await readTokenOf(c);
  if ("error" in read) {
    log.error("{error}", { error: read.error });
    return EXIT.usage;
  }
  const clusters = new ClusterBook({ maxClusters: c.maxClusters });
  const opened = await openStore(c, log, clusters);
  if (opened === null) return EXIT.failed;
  const reads = new ReadBudget();
  const pacer = heapPacing(reads);
  const onError = (error: unknown) =>
    log.error("request failed: {error}", { error: errorMessage(error) });
  const receiver = createReceiver({
    store: opened.store,
    recordLevel: c.recordLevel,
    logger: log,
    clusters,
    acceptedTokens: new Set(c.acceptedTokens),
    readToken: read.token,
    maxBodyBytes: c.maxBodyBytes,
    bodyTimeoutMs: c.bodyTimeoutMs,
    health: () => ({ ...opened.store.stats(), clusters: clusters.size }),
    probeStore: opened.probeStore,
    retentionMs: c.retentionMs,
    onAccepted: opened.onAccepted,
    onStreamed: pacer.check,
    onError,
    reads,
  });
  const retention = retentionOf(c, log, opened, receiver);
  const stop = Promise.withResolvers<string>();
  const signals = stopOnSignals((signal) => stop.resolve(signal));
  try {
    const server = listenOn(c, log, receiver, onError);
    if (server === null) return EXIT.failed;
    logListening(c, log, server, { opened, clusters, readToken: read.token });
    const code = await shutDown(c, log, server, await stop.promise);
    log.info("stopped; {totalEvents} event(s) received", {
      totalEvents: opened.store.total(),
    });
    return code;
  } finally {
    signals.dispose();
    await retention?.stop();
    pacer.stop();
    opened.store.close();
  }
}
