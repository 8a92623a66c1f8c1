// The durable SQLite store: de-duplication, paging, atomic batches, schema
// migration, retention, disk full, the bounded write queue, open errors.

import { DatabaseSync } from "node:sqlite";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  nth,
} from "./assert.ts";
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
import { startRetention } from "../src/receive/store/mod.ts";
import { logger } from "../src/log/setup.ts";
import {
  addAlternating,
  assertAlternatingPages,
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

Deno.test("sqlite: events are stored once per (distinct_id, $insert_id) and survive reopening", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/events.db`;
    const store = open({ path });
    try {
      assertEquals(store.migrated, { from: 0, to: SCHEMA_VERSION });
      assertEquals(await store.add([sampleAccepted(1), sampleAccepted(2)]), {
        added: 2,
        duplicates: 0,
        fresh: [true, true],
      });
      // Re-delivery, a repeat inside the batch, and a new one.
      assertEquals(
        await store.add([
          sampleAccepted(2),
          sampleAccepted(3),
          sampleAccepted(3),
        ]),
        { added: 1, duplicates: 2, fresh: [false, true, false] },
      );
      // The same $insert_id from another cluster is another event.
      assertEquals(
        await store.add([sampleAccepted(1, { distinct_id: "other" })]),
        { added: 1, duplicates: 0, fresh: [true] },
      );
      // No $insert_id: kept every time, never a re-delivery.
      const bare = sampleAccepted(8, { $insert_id: undefined });
      assertEquals((await store.add([bare, bare])).added, 2);
      // Concurrent deliveries of one event: stored once.
      const results = await Promise.all(
        Array.from({ length: 5 }, () => store.add([sampleAccepted(9)])),
      );
      assertEquals(results.reduce((n, r) => n + r.added, 0), 1);
      assertEquals(store.total(), 7);
      assertEquals(store.stats().duplicateEvents, 6);
    } finally {
      store.close();
    }

    const again = open({ path });
    try {
      assertEquals(again.migrated, {
        from: SCHEMA_VERSION,
        to: SCHEMA_VERSION,
      });
      assertEquals(again.total(), 7);
      assertEquals(ids(storedEvents(again)), [
        "insert-1",
        "insert-2",
        "insert-3",
        "insert-1",
        undefined,
        undefined,
        "insert-9",
      ]);
      assertEquals(storedEvents(again)[0], sampleEvent(1));
      assertEquals((await again.add([sampleAccepted(3)])).duplicates, 1);
    } finally {
      again.close();
    }
  });
});

Deno.test("sqlite: pages in arrival order after a cursor, filtered by distinct_id, read a few rows at a time", async () => {
  await withDir(async (dir) => {
    let clock = 1000;
    const store = open({ path: `${dir}/events.db`, now: () => clock });
    try {
      await addAlternating(store, () => clock += 10);
      assertAlternatingPages(store);
      assertEquals(store.planPage({ after: 6, limit: 4 }), {
        lastId: 6,
        count: 0,
        more: false,
      });
      assertEquals(
        store.rows(1, 4, 2).map((r) => [r.id, r.receivedAtMs]),
        [[2, 1020], [3, 1030]],
      );
      assertEquals(storedEvents(store, "nobody"), []);
      // Read by size too: rows of any size come a few characters at a time.
      assertEquals(store.rows(0, 6, 50, undefined, 1).map((r) => r.id), [1]);
      assertEquals(
        store.rows(0, 6, 50, undefined, 250).map((r) => r.id).length,
        2,
      );
      const history = store.history("even", 2);
      assertEquals(history.map((h) => h.receivedAtMs), [1030, 1050]);
      assertEquals(history.map((h) => h.values.get("model_count")), [2, 4]);
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

Deno.test("retention deletes exactly the events received before the cutoff", async () => {
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

Deno.test("disk full: the batch fails as a whole, nothing half-written, the store keeps working", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/events.db`;
    const setup = open({ path });
    await setup.add([sampleAccepted(0)]);
    setup.close();

    const pages = (() => {
      const db = new DatabaseSync(path);
      try {
        return (db.prepare("PRAGMA page_count").get() as { page_count: number })
          .page_count;
      } finally {
        db.close();
      }
    })();
    const store = open({ path, maxPageCount: pages + 2 });
    try {
      const big = (i: number) => sampleAccepted(i, { pad: "x".repeat(3000) });
      // Two requests sharing one commit: both fail, neither is half-stored.
      const results = await Promise.allSettled([
        store.add([big(1), big(2), big(3)]),
        store.add([big(4), big(5), big(6)]),
      ]);
      for (const r of results) {
        assertEquals(r.status, "rejected");
        assertMatch(
          String((r as PromiseRejectedResult).reason?.message),
          /database or disk is full/,
        );
      }
      assertEquals(ids(storedEvents(store)), ["insert-0"]);
      assertEquals(store.total(), 1);
      // A small event still fits, and is stored.
      assertEquals((await store.add([sampleAccepted(7)])).added, 1);
      assertEquals(ids(storedEvents(store)), ["insert-0", "insert-7"]);
    } finally {
      store.close();
    }
  });
});

Deno.test("the write queue is bounded: beyond it add() fails at once", async () => {
  await withDir(async (dir) => {
    const store = open({ path: `${dir}/events.db`, maxPendingEvents: 5 });
    try {
      const first = store.add([1, 2, 3].map((i) => sampleAccepted(i)));
      await assertRejects(
        () => store.add([4, 5, 6].map((i) => sampleAccepted(i))),
        /more than 5 events are waiting/,
      );
      assertEquals((await first).added, 3);
      // Once committed, there is room again.
      assertEquals(
        (await store.add([4, 5].map((i) => sampleAccepted(i)))).added,
        2,
      );
      assertEquals(store.stats().pendingEvents, 0);
    } finally {
      store.close();
    }
    await assertRejects(() => store.add([sampleAccepted(9)]), /closed/);
  });
});

Deno.test("a time that is not a safe integer is still stored, never a failing write", async () => {
  await withDir(async (dir) => {
    const store = open({ path: `${dir}/events.db` });
    try {
      const huge = sampleAccepted(1, { time: 1e300 });
      assertEquals((await store.add([huge])).added, 1);
      assertEquals(storedEvents(store), [sampleEvent(1, { time: 1e300 })]);
    } finally {
      store.close();
    }
  });
});
