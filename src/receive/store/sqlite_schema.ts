// The receiver's SQLite schema, versioned by PRAGMA user_version. Each entry of
// MIGRATIONS takes the database from version i to i + 1; a database is brought
// up to date step by step when it is opened, each step in its own transaction,
// so a store written by an older hodometer opens in a newer one. Never edit a
// released migration: append a new one.

import type { DatabaseSync } from "node:sqlite";
import { errorMessage } from "../../runtime/error_message.ts";

/** The schema's steps: entry i takes a database from version i to i + 1. */
export const MIGRATIONS: readonly string[] = [
  // 1: events in arrival order (id), with the receive time in ms since the
  // epoch, the sender's `time` property (null when it is not a safe integer),
  // and the event as it came. The unique index is the de-duplication rule.
  `CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     received_at INTEGER NOT NULL,
     distinct_id TEXT NOT NULL,
     insert_id TEXT NOT NULL,
     event_time INTEGER,
     event TEXT NOT NULL,
     properties TEXT NOT NULL
   );
   CREATE UNIQUE INDEX events_by_insert_id ON events (distinct_id, insert_id);
   CREATE INDEX events_by_received_at ON events (received_at);
   CREATE INDEX events_by_cluster ON events (distinct_id, id);`,
  // 2: $insert_id is optional: an event without one is stored with '' and is
  // never taken for a re-delivery, so the unique index skips those rows.
  `DROP INDEX events_by_insert_id;
   CREATE UNIQUE INDEX events_by_insert_id ON events (distinct_id, insert_id)
     WHERE insert_id <> '';`,
  // 3: which clusters sent events on which UTC day (days since the epoch, by
  // receive time), and how many per day, kept as events are written, so the
  // page's clusters-per-day reads one row a day instead of the events.
  `CREATE TABLE cluster_days (
     day INTEGER NOT NULL,
     distinct_id TEXT NOT NULL,
     PRIMARY KEY (day, distinct_id)
   ) WITHOUT ROWID;
   CREATE TABLE active_days (
     day INTEGER PRIMARY KEY,
     clusters INTEGER NOT NULL
   );
   INSERT INTO cluster_days (day, distinct_id)
     SELECT DISTINCT received_at / 86400000, distinct_id FROM events;
   INSERT INTO active_days (day, clusters)
     SELECT day, count(*) FROM cluster_days GROUP BY day;`,
  // 4: when an event counts as heard from, when not when it was received (an
  // event imported with a past time); null: its receive time. The per-day
  // counts of stores written before stay by receive time.
  `ALTER TABLE events ADD COLUMN seen_at INTEGER;`,
];

/** The version this hodometer writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** The database's schema version (PRAGMA user_version; 0 for a new one). */
export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as
    | { user_version: number }
    | undefined;
  return row?.user_version ?? 0;
}

/** What opening a store did to its schema. */
export interface Migrated {
  /** The version found. */
  from: number;
  /** The version now. */
  to: number;
}

/**
 * Applies the migrations the database has not had yet. Throws when the
 * database is newer than `migrations` knows (written by a later hodometer).
 */
export function migrate(
  db: DatabaseSync,
  migrations: readonly string[] = MIGRATIONS,
): Migrated {
  const from = schemaVersion(db);
  if (from > migrations.length) {
    throw new Error(
      `the store has schema version ${from}, written by a newer hodometer; ` +
        `this one knows versions up to ${migrations.length}`,
    );
  }
  for (let version = from; version < migrations.length; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process may have migrated meanwhile; re-read under the lock.
      if (schemaVersion(db) === version) {
        db.exec(migrations[version]!);
        db.exec(`PRAGMA user_version = ${version + 1}`);
      }
      db.exec("COMMIT");
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw new Error(
        `migration to schema version ${version + 1} failed: ${
          errorMessage(err)
        }`,
      );
    }
  }
  return { from, to: schemaVersion(db) };
}
