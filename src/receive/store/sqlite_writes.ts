// How the SQLite store writes: batches are queued and committed in groups.
// Everything queued while the event loop handled one round of I/O goes into
// one transaction (setImmediate), one SAVEPOINT per batch so each batch is
// still all-or-none; a batch resolves once COMMIT returned. The queue is
// bounded in events and in bytes; beyond it a batch is refused at once with
// StoreBusyError, which the HTTP layer answers 503 so the sender retries later.

import { DAY_MS } from "../../runtime/units.ts";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { setImmediate } from "node:timers";
import { type AcceptedEvent, isHodometerEvent } from "../event/mod.ts";
import { type AddResult, StoreBusyError } from "./contract.ts";

/** The bounds and the clock of a WriteQueue. */
export interface WriteQueueOptions {
  /** Milliseconds since the epoch, for receive times. */
  now: () => number;
  /** Most events waiting to be committed; more are refused. */
  maxPendingEvents: number;
  /** Most bytes of events waiting to be committed; more are refused (unless none wait). */
  maxPendingBytes: number;
  /** Told of each batch committed, before its caller. */
  committed: (result: AddResult) => void;
}

/** A batch waiting to be committed, with its properties as JSON text. */
interface Pending {
  events: readonly AcceptedEvent[];
  texts: string[];
  resolve: (result: AddResult) => void;
  reject: (error: unknown) => void;
}

/** The SQLite store's write queue, committed in groups. */
export class WriteQueue {
  readonly #db: DatabaseSync;
  readonly #options: WriteQueueOptions;
  readonly #insert: StatementSync;
  readonly #markDay: StatementSync;
  readonly #countDay: StatementSync;
  #queue: Pending[] = [];
  #queued = 0;
  #queuedBytes = 0;
  #flushQueued = false;

  /** An empty queue writing to `db`, whose schema is up to date. */
  constructor(db: DatabaseSync, options: WriteQueueOptions) {
    this.#db = db;
    this.#options = options;
    this.#insert = db.prepare(
      `INSERT INTO events
         (received_at, distinct_id, insert_id, event_time, event, properties,
          seen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (distinct_id, insert_id) WHERE insert_id <> '' DO NOTHING`,
    );
    this.#markDay = db.prepare(
      `INSERT INTO cluster_days (day, distinct_id) VALUES (?, ?)
       ON CONFLICT DO NOTHING`,
    );
    this.#countDay = db.prepare(
      `INSERT INTO active_days (day, clusters) VALUES (?, 1)
       ON CONFLICT (day) DO UPDATE SET clusters = clusters + 1`,
    );
  }

  /** Events waiting for the next commit. */
  get pending(): number {
    return this.#queued;
  }

  /** Queues a batch; resolves once it is committed (see EventStore.add). */
  add(events: readonly AcceptedEvent[]): Promise<AddResult> {
    const { maxPendingEvents, maxPendingBytes } = this.#options;
    if (this.#queued + events.length > maxPendingEvents) {
      return Promise.reject(new StoreBusyError(`${maxPendingEvents} events`));
    }
    const texts = events.map((e) => JSON.stringify(e.properties));
    const bytes = texts.reduce((n, t) => n + 2 * t.length, 0);
    if (this.#queued > 0 && this.#queuedBytes + bytes > maxPendingBytes) {
      return Promise.reject(
        new StoreBusyError(`${maxPendingBytes} bytes of events`),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<AddResult>();
    this.#queue.push({ events, texts, resolve, reject });
    this.#queued += events.length;
    this.#queuedBytes += bytes;
    // Batches arriving in the same turn of the event loop share a commit.
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(() => this.flush());
    }
    return promise;
  }

  /** Commits everything queued in one transaction, one savepoint per batch. */
  flush(): void {
    this.#flushQueued = false;
    const group = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    this.#queuedBytes = 0;
    if (group.length === 0) return;
    const receivedAt = this.#options.now();
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    const written: Array<[Pending, AddResult]> = [];
    for (let i = 0; i < group.length; i++) {
      const lost = this.#writeOne(group[i]!, receivedAt, written);
      if (lost === null) continue;
      // Nothing of this group was written.
      for (const [q] of written) q.reject(lost.error);
      for (const q of group.slice(i)) q.reject(lost.error);
      return;
    }
    try {
      this.#db.exec("COMMIT");
    } catch (err) {
      rollback(this.#db);
      for (const [p] of written) p.reject(err);
      return;
    }
    for (const [p, result] of written) {
      this.#options.committed(result);
      p.resolve(result);
    }
  }

  /**
   * Writes one batch in its savepoint: then it joins `written`, or it is
   * refused alone. The error when the whole transaction is lost.
   */
  #writeOne(
    p: Pending,
    receivedAt: number,
    written: Array<[Pending, AddResult]>,
  ): { error: unknown } | null {
    const db = this.#db;
    try {
      db.exec("SAVEPOINT batch");
      const result = this.#insertBatch(p, receivedAt);
      db.exec("RELEASE batch");
      written.push([p, result]);
      return null;
    } catch (err) {
      // SQLite rolled the whole transaction back (disk full, I/O error).
      if (!db.isTransaction) return { error: err };
      try {
        db.exec("ROLLBACK TO batch");
        db.exec("RELEASE batch");
        p.reject(err);
        return null;
      } catch (undo) {
        rollback(db);
        return { error: undo };
      }
    }
  }

  /** Inserts a batch's events, and the clusters of hodometer's new ones per day. */
  #insertBatch(p: Pending, receivedAt: number): AddResult {
    const day = Math.floor(receivedAt / DAY_MS);
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
      const isNew = Number(this.#insert.run(...values).changes) > 0;
      fresh.push(isNew);
      if (!isNew) return;
      added++;
      const seenDay = e.seenAtMs === undefined
        ? day
        : Math.floor(e.seenAtMs / DAY_MS);
      if (
        isHodometerEvent(e) &&
        Number(this.#markDay.run(seenDay, e.distinctId).changes) > 0
      ) {
        this.#countDay.run(seenDay);
      }
    });
    return { added, duplicates: p.events.length - added, fresh };
  }
}

/** Rolls back the transaction open on `db`, if one still is. */
export function rollback(db: DatabaseSync): void {
  try {
    if (db.isTransaction) db.exec("ROLLBACK");
  } catch {
    // the transaction is gone either way
  }
}
