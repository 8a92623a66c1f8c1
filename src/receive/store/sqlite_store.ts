// The durable event store of RECORD_LEVEL=all: SQLite through Deno's built-in
// node:sqlite, in WAL mode.
//
// Durability: an add() resolves only after COMMIT returned, and the answer 200
// is sent only after that. With WAL and synchronous=NORMAL a committed
// transaction is in the WAL file (the OS page cache) when COMMIT returns, so an
// acknowledged event survives kill -9 or any crash of the process; what NORMAL
// does not promise is the last commits across an OS crash or power cut (FULL
// would fsync every commit: measured 4 200 events/s against 16 000 with
// NORMAL at 16 connections, see docs/performance.md). Writes are queued and
// committed in groups: everything queued while the event loop handled one
// round of I/O goes into one transaction (setImmediate), one SAVEPOINT per
// request so each batch is still all-or-none. The queue is bounded in events
// and in bytes; beyond it add() fails, which the HTTP layer answers 503 so the
// sender retries later.
//
// Reads are bounded whatever the database holds (it may hold events of any
// size written by older versions): pages are read a few rows at a time, and
// the per-cluster values of the overview and of a restart are read with
// SQLite's JSON functions, catalogue fields only, each of bounded length.

import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { dirname } from "node:path";
import { setImmediate } from "node:timers";
import { CATALOGUE } from "../../metrics/catalogue.ts";
import { snapshotValues } from "./clusters.ts";
import { type AcceptedEvent, isHodometerEvent } from "../event/mod.ts";
import { EVENT_NAME } from "../../publish/event.ts";
import { errorMessage } from "../../runtime/error_message.ts";
import { DAY_MS } from "../../runtime/units.ts";
import {
  type AddResult,
  type DayCount,
  type EventStore,
  type HistoryPoint,
  type LatestOfCluster,
  type PagePlan,
  type PageQuery,
  StoreBusyError,
  type StoredRow,
} from "./contract.ts";
import { migrate, type Migrated } from "./sqlite_schema.ts";

export interface SqliteStoreOptions {
  path: string;
  /** Milliseconds since the epoch, for receive times. */
  now?: () => number;
  /** Most events waiting to be committed; more are refused. 10 000 unless set. */
  maxPendingEvents?: number;
  /** Most bytes of events waiting to be committed; more are refused. 8 MiB unless set. */
  maxPendingBytes?: number;
  /**
   * Caps the database at this many pages (PRAGMA max_page_count): writes
   * beyond it fail with SQLITE_FULL exactly as on a full disk. For tests.
   */
  maxPageCount?: number;
}

export interface SqliteStoreStats {
  recordLevel: "all";
  store: string;
  schemaVersion: number;
  /** Events in the database now. */
  storedEvents: number;
  /** Same as storedEvents: what /events?summary would count. */
  totalEvents: number;
  /** Re-deliveries recognised since start. */
  duplicateEvents: number;
  /** Events deleted by retention since start. */
  expiredEvents: number;
  /** Events waiting for the next commit. */
  pendingEvents: number;
}

export interface SqliteStore extends EventStore {
  /** Resolves once COMMIT returned. */
  add(events: readonly AcceptedEvent[]): Promise<AddResult>;
  readonly path: string;
  readonly migrated: Migrated;
  stats(): SqliteStoreStats;
  /** The last received event of the most recently seen clusters, at most `max`. */
  latestPerCluster(max: number): LatestOfCluster[];
  /**
   * Writes a row and deletes it in one transaction: null when that worked,
   * else why not (a full disk, say). Changes nothing the store holds.
   */
  probeWrite(): string | null;
}

export type Opened =
  | { ok: true; store: SqliteStore }
  | { ok: false; error: string };

export { StoreBusyError };

interface Pending {
  events: readonly AcceptedEvent[];
  texts: string[];
  resolve: (result: AddResult) => void;
  reject: (error: unknown) => void;
}

const DELETE_CHUNK = 5000;
/** Longest JSON text of one catalogue value read back (a string is clipped later anyway). */
const MAX_FIELD_CHARS = 1024;
/** The catalogue's fields of a row, each as JSON text when short enough. */
const FIELD_COLUMNS = CATALOGUE.map((m, i) =>
  `CASE WHEN length(properties -> '$.${m.name}') <= ${MAX_FIELD_CHARS}
     THEN properties -> '$.${m.name}' END AS f${i}`
).join(",\n");
/** Days of clusters-per-day read at most, whatever is asked. */
const MAX_DAYS = 1000;

/** The catalogue values of a row read with FIELD_COLUMNS. */
function fieldsOf(r: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  CATALOGUE.forEach((m, i) => {
    const text = r[`f${i}`];
    if (typeof text !== "string") return;
    try {
      values[m.name] = JSON.parse(text);
    } catch {
      // a row damaged outside hodometer: the value is left out
    }
  });
  return values;
}

/** Opens (creating if needed) and migrates the store; an error says why it cannot. */
export function openSqliteStore(options: SqliteStoreOptions): Opened {
  const path = options.path;
  let db: DatabaseSync | undefined;
  try {
    Deno.mkdirSync(dirname(path), { recursive: true });
    db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 5000");
    const mode = db.prepare("PRAGMA journal_mode = WAL").get() as
      | { journal_mode: string }
      | undefined;
    if (mode?.journal_mode !== "wal") {
      throw new Error(
        `the file system does not support WAL mode (journal mode stays ${mode?.journal_mode})`,
      );
    }
    db.exec("PRAGMA synchronous = NORMAL");
    const migrated = migrate(db);
    if (options.maxPageCount !== undefined) {
      db.exec(`PRAGMA max_page_count = ${Math.floor(options.maxPageCount)}`);
    }
    return { ok: true, store: sqliteStore(db, path, migrated, options) };
  } catch (err) {
    try {
      db?.close();
    } catch {
      // closing a half-opened database: nothing more to do
    }
    return { ok: false, error: errorMessage(err) };
  }
}

function sqliteStore(
  db: DatabaseSync,
  path: string,
  migrated: Migrated,
  options: SqliteStoreOptions,
): SqliteStore {
  const now = options.now ?? Date.now;
  const maxPending = options.maxPendingEvents ?? 10_000;
  const maxPendingBytes = options.maxPendingBytes ?? 8 * 1024 * 1024;
  const insert = db.prepare(
    `INSERT INTO events
       (received_at, distinct_id, insert_id, event_time, event, properties,
        seen_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (distinct_id, insert_id) WHERE insert_id <> '' DO NOTHING`,
  );
  const deleteChunk = db.prepare(
    `DELETE FROM events WHERE id IN
       (SELECT id FROM events WHERE received_at < ? ORDER BY id LIMIT ?)`,
  );
  const nthId = db.prepare(
    `SELECT id FROM events WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?`,
  );
  const nthIdOf = db.prepare(
    `SELECT id FROM events WHERE distinct_id = ? AND id > ? ORDER BY id LIMIT 1 OFFSET ?`,
  );
  const countAfter = db.prepare(
    `SELECT count(*) AS n, max(id) AS last FROM
       (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?)`,
  );
  const countAfterOf = db.prepare(
    `SELECT count(*) AS n, max(id) AS last FROM
       (SELECT id FROM events WHERE distinct_id = ? AND id > ? ORDER BY id LIMIT ?)`,
  );
  const sizesAfter = db.prepare(
    `SELECT id, length(properties) AS n FROM events
     WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`,
  );
  const sizesAfterOf = db.prepare(
    `SELECT id, length(properties) AS n FROM events
     WHERE distinct_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
  );
  const rowsAfter = db.prepare(
    `SELECT id, received_at, event, properties FROM events
     WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`,
  );
  const rowsAfterOf = db.prepare(
    `SELECT id, received_at, event, properties FROM events
     WHERE distinct_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
  );
  const historyOf = db.prepare(
    `SELECT received_at, ${FIELD_COLUMNS} FROM events
     WHERE distinct_id = ? ORDER BY id DESC LIMIT ?`,
  );
  const markDay = db.prepare(
    `INSERT INTO cluster_days (day, distinct_id) VALUES (?, ?)
     ON CONFLICT DO NOTHING`,
  );
  const countDay = db.prepare(
    `INSERT INTO active_days (day, clusters) VALUES (?, 1)
     ON CONFLICT (day) DO UPDATE SET clusters = clusters + 1`,
  );
  const daysSince = db.prepare(
    `SELECT day, clusters FROM active_days WHERE day >= ? ORDER BY day LIMIT ?`,
  );
  const oldestDay = db.prepare(`SELECT min(day) AS day FROM cluster_days`);
  const forgetDay = db.prepare(`DELETE FROM cluster_days WHERE day = ?`);
  const forgetDayCount = db.prepare(`DELETE FROM active_days WHERE day = ?`);
  let stored = (db.prepare("SELECT count(*) AS n FROM events").get() as {
    n: number;
  }).n;
  let duplicates = 0;
  let expired = 0;
  let queue: Pending[] = [];
  let queued = 0;
  let queuedBytes = 0;
  let flushQueued = false;
  let closed = false;

  const rollback = () => {
    try {
      if (db.isTransaction) db.exec("ROLLBACK");
    } catch {
      // the transaction is gone either way
    }
  };

  /** Commits everything queued in one transaction, one savepoint per batch. */
  const flush = () => {
    flushQueued = false;
    const group = queue;
    queue = [];
    queued = 0;
    queuedBytes = 0;
    if (group.length === 0) return;
    const receivedAt = now();
    const day = Math.floor(receivedAt / DAY_MS);
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    const written: Array<[Pending, AddResult]> = [];
    for (const p of group) {
      try {
        db.exec("SAVEPOINT batch");
        let added = 0;
        const fresh: boolean[] = [];
        p.events.forEach((e, i) => {
          const time = e.time === null ? null : Math.floor(e.time);
          const values: SQLInputValue[] = [
            receivedAt,
            e.distinctId,
            e.insertId ?? "",
            Number.isSafeInteger(time) ? time : null,
            e.event,
            p.texts[i] ?? JSON.stringify(e.properties),
            e.seenAtMs ?? null,
          ];
          const isNew = Number(insert.run(...values).changes) > 0;
          fresh.push(isNew);
          if (isNew) {
            added++;
            const seenDay = e.seenAtMs === undefined
              ? day
              : Math.floor(e.seenAtMs / DAY_MS);
            if (
              isHodometerEvent(e) &&
              Number(markDay.run(seenDay, e.distinctId).changes) > 0
            ) {
              countDay.run(seenDay);
            }
          }
        });
        db.exec("RELEASE batch");
        written.push([p, {
          added,
          duplicates: p.events.length - added,
          fresh,
        }]);
      } catch (err) {
        if (!db.isTransaction) {
          // SQLite rolled the whole transaction back (disk full, I/O error):
          // nothing of this group was written.
          for (const [q] of written) q.reject(err);
          for (const q of group.slice(group.indexOf(p))) q.reject(err);
          return;
        }
        try {
          db.exec("ROLLBACK TO batch");
          db.exec("RELEASE batch");
          p.reject(err);
        } catch (undo) {
          rollback();
          for (const [q] of written) q.reject(undo);
          for (const q of group.slice(group.indexOf(p))) q.reject(undo);
          return;
        }
      }
    }
    try {
      db.exec("COMMIT");
    } catch (err) {
      rollback();
      for (const [p] of written) p.reject(err);
      return;
    }
    for (const [p, result] of written) {
      stored += result.added;
      duplicates += result.duplicates;
      p.resolve(result);
    }
  };

  const toRow = (r: Record<string, unknown>): StoredRow => ({
    id: r.id as number,
    receivedAtMs: r.received_at as number,
    event: r.event as string,
    properties: r.properties as string,
  });

  return {
    path,
    migrated,
    keepsEvents: true,
    keptIn: "sqlite",
    add(events: readonly AcceptedEvent[]): Promise<AddResult> {
      if (closed) return Promise.reject(new Error("the event store is closed"));
      if (queued + events.length > maxPending) {
        return Promise.reject(new StoreBusyError(`${maxPending} events`));
      }
      const texts = events.map((e) => JSON.stringify(e.properties));
      const bytes = texts.reduce((n, t) => n + 2 * t.length, 0);
      if (queued > 0 && queuedBytes + bytes > maxPendingBytes) {
        return Promise.reject(
          new StoreBusyError(`${maxPendingBytes} bytes of events`),
        );
      }
      const { promise, resolve, reject } = Promise.withResolvers<AddResult>();
      queue.push({ events, texts, resolve, reject });
      queued += events.length;
      queuedBytes += bytes;
      // Requests arriving in the same turn of the event loop share a commit.
      if (!flushQueued) {
        flushQueued = true;
        setImmediate(flush);
      }
      return promise;
    },
    total: () => stored,
    held: () => stored,
    planPage(query: PageQuery): PagePlan {
      const { after, limit, distinctId } = query;
      const counted =
        (distinctId === undefined
          ? countAfter.get(after, limit)
          : countAfterOf.get(distinctId, after, limit)) as {
            n: number;
            last: number | null;
          };
      const beyond = distinctId === undefined
        ? nthId.get(after, limit)
        : nthIdOf.get(distinctId, after, limit);
      return {
        lastId: counted.last ?? after,
        count: counted.n,
        more: beyond !== undefined,
      };
    },
    rows(
      after: number,
      upTo: number,
      max: number,
      distinctId?: string,
      maxChars = Infinity,
    ) {
      if (maxChars !== Infinity) {
        // Rows of an older receiver may be of any size: read only as many as fit.
        const sizes = (distinctId === undefined
          ? sizesAfter.all(after, upTo, max)
          : sizesAfterOf.all(distinctId, after, upTo, max)) as Array<
            { id: number; n: number }
          >;
        let chars = 0;
        let count = 0;
        for (const { id, n } of sizes) {
          chars += n;
          if (count > 0 && chars > maxChars) {
            break;
          }
          count++;
          upTo = id;
        }
        max = Math.max(count, 1);
      }
      const rows = distinctId === undefined
        ? rowsAfter.all(after, upTo, max)
        : rowsAfterOf.all(distinctId, after, upTo, max);
      return rows.map((r) => toRow(r as Record<string, unknown>));
    },
    history(distinctId: string, max: number): HistoryPoint[] {
      const rows = historyOf.all(distinctId, max) as Array<
        Record<string, unknown>
      >;
      return rows.reverse().map((r) => ({
        receivedAtMs: r.received_at as number,
        values: snapshotValues(fieldsOf(r)),
      }));
    },
    activeByDay(sinceMs: number): DayCount[] {
      const since = Math.floor(sinceMs / DAY_MS);
      const rows = daysSince.all(since, MAX_DAYS) as Array<
        { day: number; clusters: number }
      >;
      return rows.map((r) => ({ dayMs: r.day * DAY_MS, clusters: r.clusters }));
    },
    latestPerCluster(max: number): LatestOfCluster[] {
      // Per cluster, hodometer's event seen last (SQLite gives the bare id
      // of the row with the max), the most recently seen clusters first.
      const rows = db.prepare(
        `SELECT e.distinct_id, e.received_at, latest.seen, e.event_time,
           ${FIELD_COLUMNS}
         FROM events e JOIN (
           SELECT id, max(coalesce(seen_at, received_at)) AS seen
           FROM events WHERE event = ? GROUP BY distinct_id
         ) latest ON e.id = latest.id
         ORDER BY latest.seen DESC LIMIT ?`,
      ).all(EVENT_NAME, max) as Array<Record<string, unknown>>;
      return rows.map((r) => ({
        distinctId: r.distinct_id as string,
        receivedAtMs: r.received_at as number,
        seenAtMs: r.seen as number,
        time: r.event_time as number | null,
        values: fieldsOf(r),
      }));
    },
    async deleteReceivedBefore(cutoffMs: number): Promise<number> {
      let deleted = 0;
      while (!closed) {
        const changes = Number(deleteChunk.run(cutoffMs, DELETE_CHUNK).changes);
        deleted += changes;
        stored -= changes;
        expired += changes;
        if (changes < DELETE_CHUNK) break;
        // Let writes in between chunks.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      // Days wholly before the cutoff, one day (one row per cluster) at a time.
      const cutoffDay = Math.floor(cutoffMs / DAY_MS);
      while (!closed) {
        const oldest = (oldestDay.get() as { day: number | null }).day;
        if (oldest === null || oldest >= cutoffDay) break;
        forgetDay.run(oldest);
        forgetDayCount.run(oldest);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return deleted;
    },
    probeWrite: () => probeWrite(db),
    stats: () => ({
      recordLevel: "all",
      store: path,
      schemaVersion: migrated.to,
      storedEvents: stored,
      totalEvents: stored,
      duplicateEvents: duplicates,
      expiredEvents: expired,
      pendingEvents: queued,
    }),
    close() {
      if (closed) return;
      flush();
      closed = true;
      try {
        db.exec("PRAGMA optimize");
      } catch {
        // only a hint to SQLite
      }
      db.close();
    },
  };
}

/** See SqliteStore.probeWrite. Never called inside a commit: both are synchronous. */
function probeWrite(db: DatabaseSync): string | null {
  try {
    db.exec("BEGIN IMMEDIATE");
    const { lastInsertRowid } = db.prepare(
      `INSERT INTO events
         (received_at, distinct_id, insert_id, event_time, event, properties)
       VALUES (0, '', '', NULL, '', '{}')`,
    ).run();
    db.prepare("DELETE FROM events WHERE id = ?").run(lastInsertRowid);
    db.exec("COMMIT");
    return null;
  } catch (err) {
    try {
      if (db.isTransaction) db.exec("ROLLBACK");
    } catch {
      // the transaction is gone either way
    }
    return errorMessage(err);
  }
}
