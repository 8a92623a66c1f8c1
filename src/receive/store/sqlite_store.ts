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
// committed in groups (sqlite_writes.ts); reads are bounded whatever the
// database holds (sqlite_reads.ts).

import { DAY_MS, MiB } from "../../runtime/units.ts";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import type { AcceptedEvent } from "../event/mod.ts";
import { errorMessage } from "../../runtime/error_message.ts";
import {
  type AddResult,
  type DayCount,
  type EventStore,
  type HistoryPoint,
  type LatestOfCluster,
  type PagePlan,
  type PageQuery,
  type StoredRow,
} from "./contract.ts";
import { migrate, type Migrated } from "./sqlite_schema.ts";
import { SqliteReads } from "./sqlite_reads.ts";
import { rollback, WriteQueue } from "./sqlite_writes.ts";

/** Where a SQLite store is, and its bounds. */
export interface SqliteStoreOptions {
  /** The database file; its folder is made if missing. */
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

/** What a SQLite store holds and has counted, for /healthz and the logs. */
export interface SqliteStoreStats {
  /** Always `all`: the only level that keeps events. */
  recordLevel: "all";
  /** The database file. */
  store: string;
  /** Its schema version. */
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

/** The SQLite store: a durable EventStore, and what only it does. */
export interface SqliteStore extends EventStore {
  /** Resolves once COMMIT returned. */
  add(events: readonly AcceptedEvent[]): Promise<AddResult>;
  /** The database file. */
  readonly path: string;
  /** The schema version found when opened, and the version now. */
  readonly migrated: Migrated;
  /** What it holds and has counted now. */
  stats(): SqliteStoreStats;
  /** The last received event of the most recently seen clusters, at most `max`. */
  latestPerCluster(max: number): LatestOfCluster[];
  /**
   * Writes a row and deletes it in one transaction: null when that worked,
   * else why not (a full disk, say). Changes nothing the store holds.
   */
  probeWrite(): string | null;
}

/** A store opened, or why it could not be. */
export type Opened =
  | { ok: true; store: SqliteStore }
  | { ok: false; error: string };

const DELETE_CHUNK = 5000;

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
    return {
      ok: true,
      store: new SqliteEventStore(db, path, migrated, options),
    };
  } catch (err) {
    try {
      db?.close();
    } catch {
      // closing a half-opened database: nothing more to do
    }
    return { ok: false, error: errorMessage(err) };
  }
}

/** The SQLite store: its writes queued, its reads, retention, its counts. */
class SqliteEventStore implements SqliteStore {
  readonly keepsEvents = true;
  readonly keptIn = "sqlite";
  readonly #db: DatabaseSync;
  readonly #reads: SqliteReads;
  readonly #writes: WriteQueue;
  readonly #deleteChunk: StatementSync;
  readonly #oldestDay: StatementSync;
  readonly #forgetDay: StatementSync;
  readonly #forgetDayCount: StatementSync;
  #stored: number;
  #duplicates = 0;
  #expired = 0;
  #closed = false;

  constructor(
    db: DatabaseSync,
    readonly path: string,
    readonly migrated: Migrated,
    options: SqliteStoreOptions,
  ) {
    this.#db = db;
    this.#reads = new SqliteReads(db);
    this.#writes = new WriteQueue(db, {
      now: options.now ?? Date.now,
      maxPendingEvents: options.maxPendingEvents ?? 10_000,
      maxPendingBytes: options.maxPendingBytes ?? 8 * MiB,
      committed: (result) => {
        this.#stored += result.added;
        this.#duplicates += result.duplicates;
      },
    });
    this.#deleteChunk = db.prepare(
      `DELETE FROM events WHERE id IN
         (SELECT id FROM events WHERE received_at < ? ORDER BY id LIMIT ?)`,
    );
    this.#oldestDay = db.prepare(`SELECT min(day) AS day FROM cluster_days`);
    this.#forgetDay = db.prepare(`DELETE FROM cluster_days WHERE day = ?`);
    this.#forgetDayCount = db.prepare(`DELETE FROM active_days WHERE day = ?`);
    this.#stored = (db.prepare("SELECT count(*) AS n FROM events").get() as {
      n: number;
    }).n;
  }

  add(events: readonly AcceptedEvent[]): Promise<AddResult> {
    if (this.#closed) {
      return Promise.reject(new Error("the event store is closed"));
    }
    return this.#writes.add(events);
  }

  total(): number {
    return this.#stored;
  }

  held(): number {
    return this.#stored;
  }

  planPage(query: PageQuery): PagePlan {
    return this.#reads.planPage(query);
  }

  rows(
    after: number,
    upTo: number,
    max: number,
    distinctId?: string,
    maxChars?: number,
  ): StoredRow[] {
    return this.#reads.rows(after, upTo, max, distinctId, maxChars);
  }

  history(distinctId: string, max: number): HistoryPoint[] {
    return this.#reads.history(distinctId, max);
  }

  activeByDay(sinceMs: number): DayCount[] {
    return this.#reads.activeByDay(sinceMs);
  }

  latestPerCluster(max: number): LatestOfCluster[] {
    return this.#reads.latestPerCluster(max);
  }

  async deleteReceivedBefore(cutoffMs: number): Promise<number> {
    let deleted = 0;
    while (!this.#closed) {
      const changes = Number(
        this.#deleteChunk.run(cutoffMs, DELETE_CHUNK).changes,
      );
      deleted += changes;
      this.#stored -= changes;
      this.#expired += changes;
      if (changes < DELETE_CHUNK) break;
      // Let writes in between chunks.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // Days wholly before the cutoff, one day (one row per cluster) at a time.
    const cutoffDay = Math.floor(cutoffMs / DAY_MS);
    while (!this.#closed) {
      const oldest = (this.#oldestDay.get() as { day: number | null }).day;
      if (oldest === null || oldest >= cutoffDay) break;
      this.#forgetDay.run(oldest);
      this.#forgetDayCount.run(oldest);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return deleted;
  }

  probeWrite(): string | null {
    return probeWrite(this.#db);
  }

  stats(): SqliteStoreStats {
    return {
      recordLevel: "all",
      store: this.path,
      schemaVersion: this.migrated.to,
      storedEvents: this.#stored,
      totalEvents: this.#stored,
      duplicateEvents: this.#duplicates,
      expiredEvents: this.#expired,
      pendingEvents: this.#writes.pending,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#writes.flush();
    this.#closed = true;
    try {
      this.#db.exec("PRAGMA optimize");
    } catch {
      // only a hint to SQLite
    }
    this.#db.close();
  }
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
    rollback(db);
    return errorMessage(err);
  }
}
