// What the pages read from the stores that keep events (SQLite, and memory
// with RECORD_LEVEL=all), with the same expectations for both: clusters per
// UTC day by receive time (a cluster once a day, re-deliveries not counted,
// retention forgetting whole days), a cluster's history with each value of its
// catalogue type, and what each store says it keeps.

import { assertEquals, nth } from "./assert.ts";
import {
  createMemoryStore,
  type EventStore,
} from "../src/receive/store/mod.ts";
import { openSqliteStore } from "../src/receive/store/sqlite_store.ts";
import { MAX_STRING_LENGTH } from "../src/receive/store/clusters.ts";
import { sampleAccepted } from "./receive_sample.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const D = 20_000 * DAY; // a UTC midnight

async function withStores(
  use: (
    name: string,
    store: EventStore,
    at: (ms: number) => void,
  ) => Promise<void>,
) {
  let clock = 0;
  const now = () => clock;
  const at = (ms: number) => clock = ms;
  const memory = createMemoryStore({ recordLevel: "all", maxEvents: 100, now });
  try {
    await use("memory", memory, at);
  } finally {
    memory.close();
  }
  const dir = await Deno.makeTempDir({ prefix: "hodometer-days-" });
  const opened = openSqliteStore({ path: `${dir}/events.db`, now });
  if (!opened.ok) throw new Error(opened.error);
  try {
    await use("sqlite", opened.store, at);
  } finally {
    opened.store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const event = (
  cluster: string,
  n: number,
  extra: Record<string, unknown> = {},
) => sampleAccepted(n, { distinct_id: cluster, ...extra });

Deno.test("clusters per day: once a day each, re-deliveries not counted, days before retention forgotten", async () => {
  await withStores(async (name, store, at) => {
    assertEquals(store.activeByDay(0), [], name);
    at(D + 10 * HOUR);
    await store.add([event("a", 1), event("b", 1)]);
    at(D + 18 * HOUR);
    await store.add([event("a", 2), event("a", 3)]);
    at(D + DAY + 9 * HOUR);
    await store.add([event("c", 1)]);
    at(D + DAY + 10 * HOUR);
    // A re-delivery of a's event on the day after: a did not report that day.
    assertEquals((await store.add([event("a", 1)])).added, 0, name);
    at(D + 3 * DAY + 1);
    await store.add([event("a", 4)]);

    assertEquals(store.activeByDay(0), [
      { dayMs: D, clusters: 2 },
      { dayMs: D + DAY, clusters: 1 },
      { dayMs: D + 3 * DAY, clusters: 1 },
    ], name);
    // From the day holding the time asked for.
    assertEquals(
      store.activeByDay(D + DAY + 5 * HOUR)?.map((d) => d.dayMs),
      [D + DAY, D + 3 * DAY],
      name,
    );
    assertEquals(store.held(), 6, name);

    await store.deleteReceivedBefore(D + DAY + HOUR);
    assertEquals(store.activeByDay(0), [
      { dayMs: D + DAY, clusters: 1 },
      { dayMs: D + 3 * DAY, clusters: 1 },
    ], name);
    assertEquals(store.held(), 2, name);
  });
});

Deno.test("a cluster's history: each value of its catalogue type, strings clipped, oldest first", async () => {
  await withStores(async (name, store, at) => {
    const long = "9".repeat(MAX_STRING_LENGTH + 50);
    at(D);
    await store.add([event("a", 1, {
      seldon_core_version: "2.8.0",
      is_kubernetes: true,
      server_memory_gb_sum: 12.5,
      model_count: 3,
      // Not of the catalogue's type: left out.
      node_count: "three",
      not_in_catalogue: 1,
    })]);
    at(D + HOUR);
    await store.add([event("a", 2, {
      seldon_core_version: long,
      is_kubernetes: false,
    })]);
    at(D + 2 * HOUR);
    await store.add([event("b", 3)]);
    const history = store.history("a", 10);
    assertEquals(history.map((h) => h.receivedAtMs), [D, D + HOUR], name);
    assertEquals(Object.fromEntries(nth(history, 0).values), {
      seldon_core_version: "2.8.0",
      is_kubernetes: true,
      server_memory_gb_sum: 12.5,
      model_count: 3,
    }, name);
    assertEquals(
      nth(history, 1).values.get("seldon_core_version"),
      long.slice(0, MAX_STRING_LENGTH),
      name,
    );
    assertEquals(nth(history, 1).values.get("is_kubernetes"), false, name);
    assertEquals(store.history("a", 1).map((h) => h.receivedAtMs), [D + HOUR]);
    assertEquals(store.history("nobody", 10), []);
  });
});

Deno.test("stores say what they keep: summary and none keep nothing and count no days", async () => {
  for (const level of ["none", "summary"] as const) {
    const store = createMemoryStore({ recordLevel: level, maxEvents: 10 });
    await store.add([event("a", 1)]);
    assertEquals(
      [store.keptIn, store.held(), store.activeByDay(0), store.total()],
      [null, 0, null, 1],
      level,
    );
    store.close();
  }
  const all = createMemoryStore({ recordLevel: "all", maxEvents: 10 });
  assertEquals(all.keptIn, "memory");
  all.close();
});
