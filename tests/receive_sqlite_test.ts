// What only the SQLite store does: events and their de-duplication survive
// reopening, the last event of each cluster read back at start, schema
// migration, open errors, what its totals mean after retention, deletes in
// chunks, and its write queue bounded in bytes. What every store promises is
// tests/store_contract.ts's, run on it by tests/store_contract_test.ts.

import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import {
  openSqliteStore,
  type SqliteStore,
  type SqliteStoreOptions,
} from "../src/receive/store/sqlite_store.ts";
import {
  migrate,
  MIGRATIONS,
  SCHEMA_VERSION,
  schemaVersion,
} from "../src/receive/store/sqlite_schema.ts";
import { startRetention, StoreBusyError } from "../src/receive/store/mod.ts";
import { logger } from "../src/log/setup.ts";
import {
  ids,
  sampleAccepted,
  sampleEvent,
  storedEvents,
} from "./receive_sample.ts";

async function withDir<T>(
  use: (dir: string) => T | Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-sqlite-" });
  try {
    return await use(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function open(options: SqliteStoreOptions): SqliteStore {
  const opened = openSqliteStore(options);
  if (!opened.ok) throw new Error(opened.error);
  return opened.store;
}

Deno.test("sqlite: events and their de-duplication survive reopening; the schema is made on first open", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/events.db`;
    const store = open({ path });
    const bare = sampleAccepted(8, { $insert_id: undefined });
    try {
      assertEquals(store.migrated, { from: 0, to: SCHEMA_VERSION });
      await store.add([sampleAccepted(1), sampleAccepted(2)]);
      await store.add([sampleAccepted(2), sampleAccepted(3)]);
      await store.add([sampleAccepted(1, { distinct_id: "other" })]);
      await store.add([bare, bare]);
      assertEquals(store.stats().duplicateEvents, 1);
    } finally {
      store.close();
    }

    const again = open({ path });
    try {
      assertEquals(again.migrated, {
        from: SCHEMA_VERSION,
        to: SCHEMA_VERSION,
      });
      assertEquals(again.total(), 6);
      assertEquals(ids(storedEvents(again)), [
        "insert-1",
        "insert-2",
        "insert-3",
        "insert-1",
        undefined,
        undefined,
      ]);
      assertEquals(storedEvents(again)[0], sampleEvent(1));
      assertEquals((await again.add([sampleAccepted(3)])).duplicates, 1);
      assertEquals((await again.add([bare])).added, 1);
      // Re-deliveries are counted since this start.
      assertEquals(again.stats().duplicateEvents, 1);
    } finally {
      again.close();
    }
  });
});

Deno.test("sqlite: of a cluster's events received in the same millisecond, the last added is its latest, as while running", async () => {
  await withDir(async (dir) => {
    const store = open({ path: `${dir}/events.db`, now: () => 5000 });
    try {
      for (const n of [1, 2, 3, 4, 5]) {
        await store.add([sampleAccepted(n, { distinct_id: "a" })]);
      }
      await store.add([sampleAccepted(9, { distinct_id: "b" })]);
      await store.add([
        sampleAccepted(6, { distinct_id: "a" }),
        sampleAccepted(7, { distinct_id: "a" }),
      ]);
      assertEquals(
        store.latestPerCluster(10).map((l) => [
          l.distinctId,
          l.values.model_count,
        ]).sort(),
        [["a", 7], ["b", 9]],
      );
    } finally {
      store.close();
    }
  });
});

Deno.test("sqlite: the last received event per cluster (the sender's clock decides nothing), values of bounded size", async () => {
  await withDir(async (dir) => {
    let clock = 5000;
    const store = open({ path: `${dir}/events.db`, now: () => clock });
    try {
      await store.add([
        sampleAccepted(5, { distinct_id: "a", time: 9007199254740991 }),
      ]);
      clock = 6000;
      await store.add([sampleAccepted(1, { distinct_id: "b" })]);
      clock = 7000;
      // Sent later with an older time: still the latest of "a".
      await store.add([
        sampleAccepted(2, {
          distinct_id: "a",
          seldon_core_version: "v".repeat(5000),
          kubernetes_version: "v1.30.0",
        }),
      ]);
      const latest = store.latestPerCluster(10);
      assertEquals(
        latest.map((l) => [l.distinctId, l.values.model_count, l.receivedAtMs]),
        [["a", 2, 7000], ["b", 1, 6000]],
      );
      assertEquals(nth(latest, 0).values.kubernetes_version, "v1.30.0");
      assertEquals(
        nth(latest, 0).values.seldon_core_version,
        undefined,
        "a value too long to be a version is not read back",
      );
      assertEquals(store.latestPerCluster(1).length, 1);
    } finally {
      store.close();
    }
  });
});

/** The schema of version 1 as hodometer 1 created it, frozen here on purpose. */
const V1_SCHEMA = `
  CREATE TABLE events (
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
  CREATE INDEX events_by_cluster ON events (distinct_id, id);
  PRAGMA user_version = 1;`;

function writeV1Database(path: string, n: number): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(V1_SCHEMA);
    const insert = db.prepare(
      "INSERT INTO events (received_at, distinct_id, insert_id, event_time, event, properties) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (let i = 0; i < n; i++) {
      const e = sampleEvent(i);
      insert.run(
        1000 + i,
        e.properties.distinct_id as string,
        e.properties.$insert_id as string,
        e.properties.time as number,
        e.event,
        JSON.stringify(e.properties),
      );
    }
  } finally {
    db.close();
  }
}

Deno.test("migration: a version 1 store opens, keeps its events and its de-duplication", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/v1.db`;
    writeV1Database(path, 3);
    const store = open({ path });
    try {
      assertEquals(store.migrated, { from: 1, to: SCHEMA_VERSION });
      assertEquals(store.total(), 3);
      assertEquals(storedEvents(store), [0, 1, 2].map((i) => sampleEvent(i)));
      assertEquals(await store.add([sampleAccepted(2), sampleAccepted(3)]), {
        added: 1,
        duplicates: 1,
        fresh: [false, true],
      });
      // Events without $insert_id are kept since version 2.
      const bare = sampleAccepted(4, { $insert_id: undefined });
      assertEquals((await store.add([bare, bare])).added, 2);
    } finally {
      store.close();
    }
  });
});

Deno.test("migration: clusters per day are filled in from the events an older store holds", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/v1.db`;
    writeV1Database(path, 3); // one cluster, received on day 0
    let clock = 5000;
    const store = open({ path, now: () => clock });
    try {
      assertEquals(store.activeByDay(0), [{ dayMs: 0, clusters: 1 }]);
      // The same cluster again that day changes nothing; another one counts.
      await store.add([sampleAccepted(7)]);
      await store.add([sampleAccepted(8, { distinct_id: "other" })]);
      clock = 86_400_000 + 5;
      await store.add([sampleAccepted(9, { distinct_id: "other" })]);
      assertEquals(store.activeByDay(0), [
        { dayMs: 0, clusters: 2 },
        { dayMs: 86_400_000, clusters: 1 },
      ]);
    } finally {
      store.close();
    }
  });
});

Deno.test("migration: each missing step runs once, in order, and data written before stays", async () => {
  await withDir((dir) => {
    const path = `${dir}/old.db`;
    writeV1Database(path, 2);
    // A later release's migration, appended after the real ones.
    const next = [
      ...MIGRATIONS,
      "ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'v1'",
    ];
    const db = new DatabaseSync(path);
    try {
      const last = MIGRATIONS.length + 1;
      assertEquals(migrate(db, next), { from: 1, to: last });
      assertEquals(schemaVersion(db), last);
      const rows = db.prepare(
        "SELECT insert_id, source FROM events ORDER BY id",
      )
        .all();
      assertEquals(rows.map((r) => ({ ...r })), [
        { insert_id: "insert-0", source: "v1" },
        { insert_id: "insert-1", source: "v1" },
      ]);
      // Up to date: nothing runs again.
      assertEquals(migrate(db, next), { from: last, to: last });
    } finally {
      db.close();
    }
  });
});

Deno.test("migration: a failing step leaves the database at the version before it", async () => {
  await withDir((dir) => {
    const path = `${dir}/old.db`;
    writeV1Database(path, 1);
    const db = new DatabaseSync(path);
    try {
      const broken = [
        ...MIGRATIONS,
        "CREATE TABLE extra (a); INSERT INTO nowhere VALUES (1)",
      ];
      let failure = "";
      try {
        migrate(db, broken);
      } catch (err) {
        failure = (err as Error).message;
      }
      assertMatch(
        failure,
        new RegExp(
          `migration to schema version ${
            MIGRATIONS.length + 1
          } failed: .*nowhere`,
        ),
      );
      assertEquals(
        schemaVersion(db),
        MIGRATIONS.length,
        "the released steps went through",
      );
      const extra = db.prepare(
        "SELECT count(*) AS n FROM sqlite_master WHERE name = 'extra'",
      ).get() as { n: number };
      assertEquals(extra.n, 0, "the half-done step was rolled back");
    } finally {
      db.close();
    }
  });
});

Deno.test("migration: a store written by a newer hodometer is refused, not damaged", async () => {
  await withDir((dir) => {
    const path = `${dir}/newer.db`;
    const db = new DatabaseSync(path);
    db.exec(`${V1_SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION + 5};`);
    db.close();
    const opened = openSqliteStore({ path });
    assert(!opened.ok);
    assertMatch(
      opened.error,
      new RegExp(
        `schema version ${SCHEMA_VERSION + 5}, written by a newer hodometer`,
      ),
    );
    const after = new DatabaseSync(path);
    try {
      assertEquals(schemaVersion(after), SCHEMA_VERSION + 5);
    } finally {
      after.close();
    }
  });
});

Deno.test("a store that cannot be opened says why", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "x");
    const underFile = openSqliteStore({ path: `${dir}/file/events.db` });
    assert(!underFile.ok);
    assertMatch(underFile.error, /file|directory/i);

    await Deno.writeTextFile(
      `${dir}/garbage.db`,
      "this is not a database, only text. ".repeat(200),
    );
    const garbage = openSqliteStore({ path: `${dir}/garbage.db` });
    assert(!garbage.ok);
    assertMatch(garbage.error, /not a database/);
  });
});

Deno.test("retention on SQLite: total() is what the database holds, deletions are counted, and an expired event delivered again is new again", async () => {
  await withDir(async (dir) => {
    let clock = 0;
    const store = open({ path: `${dir}/events.db`, now: () => clock });
    try {
      const day = 86_400_000;
      // 12 events, one a day, days 0..11; a batch of 3 on day 11.
      for (let i = 0; i < 12; i++) {
        clock = i * day;
        await store.add([sampleAccepted(i)]);
      }
      await store.add([20, 21, 22].map((i) => sampleAccepted(i)));
      clock = 15 * day;
      // Keep 7 days: events received before day 8 go, day 8 itself stays.
      const retention = startRetention({
        expire: async (cutoff) => ({
          events: await store.deleteReceivedBefore(cutoff),
          clusters: 0,
        }),
        retentionMs: 7 * day,
        now: () => clock,
        logger: logger("receive", "test"),
      });
      await retention.stop(); // the sweep at start has run
      assertEquals(ids(storedEvents(store)), [
        "insert-8",
        "insert-9",
        "insert-10",
        "insert-11",
        "insert-20",
        "insert-21",
        "insert-22",
      ]);
      assertEquals(store.stats().expiredEvents, 8);
      assertEquals(store.total(), 7);
      // Nothing more is due at the same time.
      assertEquals(await store.deleteReceivedBefore(clock - 7 * day), 0);
      // An expired event delivered again is new again.
      assertEquals((await store.add([sampleAccepted(0)])).added, 1);
    } finally {
      store.close();
    }
  });
});

Deno.test("retention deletes in chunks and sweeps on its schedule", async () => {
  await withDir(async (dir) => {
    let clock = 0;
    const store = open({ path: `${dir}/events.db`, now: () => clock });
    try {
      await store.add(
        Array.from({ length: 1200 }, (_, i) => sampleAccepted(i)),
      );
      await store.add(
        Array.from({ length: 1200 }, (_, i) => sampleAccepted(i + 1200)),
      );
      for (let i = 0; i < 5; i++) {
        await store.add(
          Array.from(
            { length: 2000 },
            (_, j) => sampleAccepted(10_000 + i * 2000 + j),
          ),
        );
      }
      assertEquals(store.total(), 12_400);
      clock = 100;
      const sweeps: number[] = [];
      const retention = startRetention({
        expire: async (cutoff) => {
          const n = await store.deleteReceivedBefore(cutoff);
          sweeps.push(n);
          return { events: n, clusters: 0 };
        },
        retentionMs: 50,
        intervalMs: 5,
        now: () => clock,
        logger: logger("receive", "test"),
      });
      try {
        while (sweeps.length < 3) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        await retention.stop();
      }
      assertEquals(sweeps[0], 12_400, "more than one chunk (5000) deleted");
      assertEquals(sweeps.slice(1).every((n) => n === 0), true);
      assertEquals(store.total(), 0);
    } finally {
      store.close();
    }
  });
});

Deno.test("the write queue is bounded in bytes too: past it add() fails at once, unless nothing else waits", async () => {
  await withDir(async (dir) => {
    const big = (i: number) => sampleAccepted(i, { pad: "x".repeat(2000) });
    const store = open({
      path: `${dir}/events.db`,
      maxPendingBytes: 10_000,
    });
    try {
      // Alone, a batch over the bytes is taken: it could never be written else.
      const first = store.add([1, 2, 3].map(big));
      assertEquals(store.stats().pendingEvents, 3);
      const refused = await store.add([big(4)]).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert(refused instanceof StoreBusyError, `refused with ${refused}`);
      assertMatch(
        refused.message,
        /more than 10000 bytes of events are waiting to be written/,
      );
      assertEquals((await first).added, 3);
      assertEquals(store.stats().pendingEvents, 0);
      assertEquals((await store.add([big(4)])).added, 1);
    } finally {
      store.close();
    }
  });
});
