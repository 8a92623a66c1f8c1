// What the SQLite store reads back: pages of events, a cluster's history,
// clusters per day and the last event of each cluster. Bounded whatever the
// database holds (it may hold events of any size written by older versions):
// pages are read a few rows at a time, and the per-cluster values of the
// overview and of a restart are read with SQLite's JSON functions, catalogue
// fields only, each of bounded length.

import { DAY_MS } from "../../runtime/units.ts";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { CATALOGUE } from "../../metrics/catalogue.ts";
import { EVENT_NAME } from "../../publish/event.ts";
import { snapshotValues } from "./clusters.ts";
import {
  type DayCount,
  type HistoryPoint,
  type LatestOfCluster,
  type PagePlan,
  type PageQuery,
  type StoredRow,
} from "./contract.ts";

/** Longest JSON text of one catalogue value read back (a string is clipped later anyway). */
const MAX_FIELD_CHARS = 1024;
/** The catalogue's fields of a row, each as JSON text when short enough. */
const FIELD_COLUMNS = CATALOGUE.map((m, i) =>
  `CASE WHEN length(properties -> '$.${m.name}') <= ${MAX_FIELD_CHARS}
     THEN properties -> '$.${m.name}' END AS f${i}`
).join(",\n");
/** Days of clusters-per-day read at most, whatever is asked. */
const MAX_DAYS = 1000;

type Row = Record<string, unknown>;

/** The catalogue values of a row read with FIELD_COLUMNS. */
function fieldsOf(r: Row): Record<string, unknown> {
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

const toRow = (r: Row): StoredRow => ({
  id: r.id as number,
  receivedAtMs: r.received_at as number,
  event: r.event as string,
  properties: r.properties as string,
});

/**
 * One query over every event, and the same over one cluster's (its
 * distinct_id the first parameter): `sql` is given the condition to start
 * its WHERE with.
 */
interface Filtered {
  all: StatementSync;
  ofCluster: StatementSync;
}

function filtered(
  db: DatabaseSync,
  sql: (where: string) => string,
): Filtered {
  return {
    all: db.prepare(sql("")),
    ofCluster: db.prepare(sql("distinct_id = ? AND ")),
  };
}

/** The SQLite store's reads, on statements prepared once. */
export class SqliteReads {
  readonly #db: DatabaseSync;
  readonly #nthId: Filtered;
  readonly #countAfter: Filtered;
  readonly #sizesAfter: Filtered;
  readonly #rowsAfter: Filtered;
  readonly #historyOf: StatementSync;
  readonly #daysSince: StatementSync;

  /** Prepares the reads on `db`, whose schema is up to date. */
  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#nthId = filtered(
      db,
      (where) =>
        `SELECT id FROM events WHERE ${where}id > ? ORDER BY id LIMIT 1 OFFSET ?`,
    );
    this.#countAfter = filtered(
      db,
      (where) =>
        `SELECT count(*) AS n, max(id) AS last FROM
         (SELECT id FROM events WHERE ${where}id > ? ORDER BY id LIMIT ?)`,
    );
    this.#sizesAfter = filtered(
      db,
      (where) =>
        `SELECT id, length(properties) AS n FROM events
       WHERE ${where}id > ? AND id <= ? ORDER BY id LIMIT ?`,
    );
    this.#rowsAfter = filtered(
      db,
      (where) =>
        `SELECT id, received_at, event, properties FROM events
       WHERE ${where}id > ? AND id <= ? ORDER BY id LIMIT ?`,
    );
    this.#historyOf = db.prepare(
      `SELECT received_at, ${FIELD_COLUMNS} FROM events
       WHERE distinct_id = ? ORDER BY id DESC LIMIT ?`,
    );
    this.#daysSince = db.prepare(
      `SELECT day, clusters FROM active_days WHERE day >= ? ORDER BY day LIMIT ?`,
    );
  }

  /** See EventStore.planPage. */
  planPage(query: PageQuery): PagePlan {
    const { after, limit, distinctId } = query;
    const counted =
      (distinctId === undefined
        ? this.#countAfter.all.get(after, limit)
        : this.#countAfter.ofCluster.get(distinctId, after, limit)) as {
          n: number;
          last: number | null;
        };
    const beyond = distinctId === undefined
      ? this.#nthId.all.get(after, limit)
      : this.#nthId.ofCluster.get(distinctId, after, limit);
    return {
      lastId: counted.last ?? after,
      count: counted.n,
      more: beyond !== undefined,
    };
  }

  /** See EventStore.rows. */
  rows(
    after: number,
    upTo: number,
    max: number,
    distinctId?: string,
    maxChars = Infinity,
  ): StoredRow[] {
    if (maxChars !== Infinity) {
      // Rows of an older receiver may be of any size: read only as many as fit.
      [upTo, max] = this.#fitting(after, upTo, max, distinctId, maxChars);
    }
    const rows = distinctId === undefined
      ? this.#rowsAfter.all.all(after, upTo, max)
      : this.#rowsAfter.ofCluster.all(distinctId, after, upTo, max);
    return rows.map((r) => toRow(r as Row));
  }

  /** The last id and the count of the rows from `after` that fit `maxChars` (at least one). */
  #fitting(
    after: number,
    upTo: number,
    max: number,
    distinctId: string | undefined,
    maxChars: number,
  ): [upTo: number, max: number] {
    const sizes =
      (distinctId === undefined
        ? this.#sizesAfter.all.all(after, upTo, max)
        : this.#sizesAfter.ofCluster.all(
          distinctId,
          after,
          upTo,
          max,
        )) as Array<
          { id: number; n: number }
        >;
    let chars = 0;
    let count = 0;
    for (const { id, n } of sizes) {
      chars += n;
      if (count > 0 && chars > maxChars) break;
      count++;
      upTo = id;
    }
    return [upTo, Math.max(count, 1)];
  }

  /** See EventStore.history. */
  history(distinctId: string, max: number): HistoryPoint[] {
    const rows = this.#historyOf.all(distinctId, max) as Row[];
    return rows.reverse().map((r) => ({
      receivedAtMs: r.received_at as number,
      values: snapshotValues(fieldsOf(r)),
    }));
  }

  /** See EventStore.activeByDay. */
  activeByDay(sinceMs: number): DayCount[] {
    const since = Math.floor(sinceMs / DAY_MS);
    const rows = this.#daysSince.all(since, MAX_DAYS) as Array<
      { day: number; clusters: number }
    >;
    return rows.map((r) => ({ dayMs: r.day * DAY_MS, clusters: r.clusters }));
  }

  /** See SqliteStore.latestPerCluster. */
  latestPerCluster(max: number): LatestOfCluster[] {
    // Per cluster, hodometer's event seen last, the later row of two seen
    // in the same millisecond (as observe() keeps it while running; a bare
    // id beside max() would be either); the most recently seen clusters first.
    const rows = this.#db.prepare(
      `SELECT e.distinct_id, e.received_at, latest.seen, e.event_time,
         ${FIELD_COLUMNS}
       FROM events e JOIN (
         SELECT id, seen FROM (
           SELECT id, coalesce(seen_at, received_at) AS seen,
             row_number() OVER (PARTITION BY distinct_id
               ORDER BY coalesce(seen_at, received_at) DESC, id DESC) AS nth
           FROM events WHERE event = ?
         ) WHERE nth = 1
       ) latest ON e.id = latest.id
       ORDER BY latest.seen DESC LIMIT ?`,
    ).all(EVENT_NAME, max) as Row[];
    return rows.map((r) => ({
      distinctId: r.distinct_id as string,
      receivedAtMs: r.received_at as number,
      seenAtMs: r.seen as number,
      time: r.event_time as number | null,
      values: fieldsOf(r),
    }));
  }
}
