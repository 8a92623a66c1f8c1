// What every event store promises (src/receive/store/contract.ts), as one
// suite of cases run against each store by tests/store_contract_test.ts. A
// case says which stores it is for: every store, those that keep events
// (RECORD_LEVEL=all), those that can be busy, those whose writes can fail.
// What only one store does (the memory store's ring, SQLite's durability,
// schema and chunked deletes) is tested in that store's own file.

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  nth,
} from "./assert.ts";
import { type EventStore, StoreBusyError } from "../src/receive/store/mod.ts";
import { MAX_STRING_LENGTH } from "../src/receive/store/clusters.ts";
import {
  ids,
  sampleAccepted,
  sampleEvent,
  storedEvents,
} from "./receive_sample.ts";
import { DAY_MS, HOUR_MS } from "../src/runtime/units.ts";

/** A UTC midnight, where each case's clock starts. */
export const D = 20_000 * DAY_MS;

/** A store opened for one case: close() closes it and removes what it made. */
export interface OpenedStore {
  store: EventStore;
  close(): Promise<void>;
}

/** One kind of store, as the suite opens it: a new, empty store per case. */
export interface StoreKind {
  /** Said before each case's name. */
  name: string;
  /** Whether it keeps the events themselves (RECORD_LEVEL=all). */
  keepsEvents: boolean;
  /** A new empty store that reads the time from `now`. */
  open(now: () => number): Promise<OpenedStore>;
  /**
   * A new empty store that refuses a batch with StoreBusyError once more
   * than `maxPending` events would wait to be written; absent for a store
   * that is never busy.
   */
  openBounded?(maxPending: number, now: () => number): Promise<OpenedStore>;
  /**
   * A store holding one event, sampleAccepted(0), with room for one more
   * small event but not for a few kilobytes (a full disk); absent for a store
   * whose writes cannot fail.
   */
  openFull?(now: () => number): Promise<OpenedStore>;
}

/** What a case is given: the store, the kind it is, and its clock. */
export interface CaseContext {
  store: EventStore;
  kind: StoreKind;
  /** Sets the store's clock (ms since the epoch); D at the start. */
  at(ms: number): void;
}

/** One promise of the contract. */
export interface ContractCase {
  name: string;
  /**
   * Which stores it is for: every store (absent), those keeping events,
   * those that can be busy (openBounded) or fail (openFull).
   */
  for?: "keeping" | "bounded" | "failing";
  run(context: CaseContext): Promise<void>;
}

/** sampleAccepted(n) from cluster `cluster`. */
const from = (
  cluster: string,
  n: number,
  extra: Record<string, unknown> = {},
) => sampleAccepted(n, { distinct_id: cluster, ...extra });

/** Every row a store holds. */
const allRows = (store: EventStore, distinctId?: string) =>
  store.rows(0, Number.MAX_SAFE_INTEGER, 1_000_000, distinctId);

/**
 * Six events (ids 1–6) whose distinct_id alternates "even" and "odd", one
 * every 10 ms from D + 10.
 */
async function addAlternating({ store, at }: CaseContext): Promise<void> {
  for (let i = 0; i < 6; i++) {
    at(D + 10 * (i + 1));
    await store.add([from(i % 2 === 0 ? "even" : "odd", i)]);
  }
}

export const STORE_CONTRACT: readonly ContractCase[] = [
  {
    name:
      "add: each event of a batch is fresh or a re-delivery (same distinct_id and $insert_id, in an earlier batch or the same one); total counts the fresh",
    async run({ store }) {
      assertEquals(await store.add([sampleAccepted(1), sampleAccepted(2)]), {
        added: 2,
        duplicates: 0,
        fresh: [true, true],
      });
      assertEquals(
        await store.add([
          sampleAccepted(2),
          sampleAccepted(3),
          sampleAccepted(3),
        ]),
        { added: 1, duplicates: 2, fresh: [false, true, false] },
      );
      assertEquals(store.total(), 3);
    },
  },
  {
    name:
      "de-duplication is per cluster, and only by $insert_id: the same one from another cluster is another event, an event without one is never a re-delivery",
    async run({ store }) {
      await store.add([sampleAccepted(1)]);
      assertEquals(await store.add([from("other", 1)]), {
        added: 1,
        duplicates: 0,
        fresh: [true],
      });
      const bare = sampleAccepted(9, { $insert_id: undefined });
      assertEquals(bare.insertId, null);
      assertEquals((await store.add([bare, bare])).added, 2);
      assertEquals((await store.add([bare])).added, 1);
      assertEquals(store.total(), 5);
    },
  },
  {
    name: "concurrent deliveries of one event record it once",
    async run({ store }) {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => store.add([sampleAccepted(9)])),
      );
      assertEquals(results.reduce((n, r) => n + r.added, 0), 1);
      assertEquals(results.reduce((n, r) => n + r.duplicates, 0), 4);
      assertEquals(store.total(), 1);
    },
  },
  {
    name:
      "says what it keeps: where and how many; a store that keeps no events reads back nothing and counts no days",
    async run({ store, kind }) {
      await store.add([from("a", 1), from("b", 2)]);
      assertEquals(store.keepsEvents, kind.keepsEvents);
      if (kind.keepsEvents) {
        assert(store.keptIn !== null, "says where it keeps them");
        assertEquals(store.held(), 2);
        return;
      }
      assertEquals(
        [store.keptIn, store.held(), store.total(), store.activeByDay(0)],
        [null, 0, 2, null],
      );
      assertEquals(allRows(store), []);
      assertEquals(store.planPage({ after: 0, limit: 10 }), {
        lastId: 0,
        count: 0,
        more: false,
      });
      assertEquals(store.history("a", 10), []);
      assertEquals(await store.deleteReceivedBefore(D + DAY_MS), 0);
    },
  },
  {
    name:
      "rows: each event read back as sent, in arrival order, with its receive time (a time of any size, an event not hodometer's)",
    for: "keeping",
    async run({ store, at }) {
      at(D + 1);
      await store.add([sampleAccepted(1), sampleAccepted(2, { time: 1e300 })]);
      at(D + 2);
      const other = {
        event: "page view",
        properties: { token: "t", distinct_id: "user-1", $insert_id: "p-1" },
      };
      await store.add([
        {
          event: other.event,
          properties: structuredClone(other.properties),
          token: "t",
          distinctId: "user-1",
          insertId: "p-1",
          time: null,
        },
      ]);
      assertEquals(storedEvents(store), [
        sampleEvent(1),
        sampleEvent(2, { time: 1e300 }),
        other,
      ]);
      const rows = allRows(store);
      assertEquals(rows.map((r) => r.receivedAtMs), [D + 1, D + 1, D + 2]);
      const [a, b, c] = rows.map((r) => r.id);
      assert(a! < b! && b! < c!, `ids in arrival order: ${a}, ${b}, ${c}`);
      assertEquals(store.total(), 3);
    },
  },
  {
    name:
      "pages: planned after a cursor, at most `limit`, filtered by cluster; past the end, none and no more",
    for: "keeping",
    async run(context) {
      const { store } = context;
      await addAlternating(context);
      assertEquals(store.planPage({ after: 0, limit: 4 }), {
        lastId: 4,
        count: 4,
        more: true,
      });
      assertEquals(store.planPage({ after: 4, limit: 4 }), {
        lastId: 6,
        count: 2,
        more: false,
      });
      assertEquals(store.planPage({ after: 0, limit: 2, distinctId: "odd" }), {
        lastId: 4,
        count: 2,
        more: true,
      });
      assertEquals(store.planPage({ after: 4, limit: 2, distinctId: "odd" }), {
        lastId: 6,
        count: 1,
        more: false,
      });
      assertEquals(store.planPage({ after: 6, limit: 4 }), {
        lastId: 6,
        count: 0,
        more: false,
      });
      assertEquals(
        store.planPage({ after: 0, limit: 4, distinctId: "nobody" }),
        { lastId: 0, count: 0, more: false },
      );
    },
  },
  {
    name:
      "rows: those with ids in (after, upTo], at most `max`, filtered by cluster",
    for: "keeping",
    async run(context) {
      const { store } = context;
      await addAlternating(context);
      assertEquals(
        store.rows(0, 4, 100).map((r) => [r.id, r.receivedAtMs]),
        [[1, D + 10], [2, D + 20], [3, D + 30], [4, D + 40]],
      );
      assertEquals(store.rows(1, 4, 2).map((r) => r.id), [2, 3]);
      assertEquals(store.rows(0, 6, 10, "odd").map((r) => r.id), [2, 4, 6]);
      assertEquals(ids(storedEvents(store, "odd")), [
        "insert-1",
        "insert-3",
        "insert-5",
      ]);
      assertEquals(store.rows(0, 6, 10, "nobody"), []);
      assertEquals(store.rows(6, 100, 10), []);
    },
  },
  {
    name:
      "rows: no more than about `maxChars` characters of JSON, and always at least one row",
    for: "keeping",
    async run(context) {
      const { store } = context;
      await addAlternating(context);
      const sizes = store.rows(0, 6, 10).map((r) => r.properties.length);
      const [first, second] = [nth(sizes, 0), nth(sizes, 1)];
      assertEquals(store.rows(0, 6, 10, undefined, 1).map((r) => r.id), [1]);
      assertEquals(
        store.rows(0, 6, 10, undefined, first + second).map((r) => r.id),
        [1, 2],
      );
      assertEquals(
        store.rows(0, 6, 10, undefined, first + second - 1).map((r) => r.id),
        [1],
      );
      assertEquals(
        store.rows(0, 6, 10, "odd", 1).map((r) => r.id),
        [2],
        "filtered by cluster too",
      );
    },
  },
  {
    name:
      "history: a cluster's latest events, oldest first, each value of its catalogue type, strings clipped",
    for: "keeping",
    async run({ store, at }) {
      const long = "9".repeat(MAX_STRING_LENGTH + 50);
      at(D);
      await store.add([from("a", 1, {
        seldon_core_version: "2.8.0",
        is_kubernetes: true,
        server_memory_gb_sum: 12.5,
        model_count: 3,
        // Not of the catalogue's type: left out.
        node_count: "three",
        not_in_catalogue: 1,
      })]);
      at(D + HOUR_MS);
      await store.add([from("a", 2, {
        seldon_core_version: long,
        is_kubernetes: false,
      })]);
      at(D + 2 * HOUR_MS);
      await store.add([from("b", 3)]);
      const history = store.history("a", 10);
      assertEquals(history.map((h) => h.receivedAtMs), [D, D + HOUR_MS]);
      assertEquals(Object.fromEntries(nth(history, 0).values), {
        seldon_core_version: "2.8.0",
        is_kubernetes: true,
        server_memory_gb_sum: 12.5,
        model_count: 3,
      });
      assertEquals(
        nth(history, 1).values.get("seldon_core_version"),
        long.slice(0, MAX_STRING_LENGTH),
      );
      assertEquals(nth(history, 1).values.get("is_kubernetes"), false);
      assertEquals(store.history("a", 1).map((h) => h.receivedAtMs), [
        D + HOUR_MS,
      ]);
      assertEquals(store.history("nobody", 10), []);
    },
  },
  {
    name:
      "clusters per day: once a day each, re-deliveries not counted, from the day holding `sinceMs`, days before a deletion forgotten",
    for: "keeping",
    async run({ store, at }) {
      assertEquals(store.activeByDay(0), []);
      at(D + 10 * HOUR_MS);
      await store.add([from("a", 1), from("b", 1)]);
      at(D + 18 * HOUR_MS);
      await store.add([from("a", 2), from("a", 3)]);
      at(D + DAY_MS + 9 * HOUR_MS);
      await store.add([from("c", 1)]);
      at(D + DAY_MS + 10 * HOUR_MS);
      // A re-delivery of a's event on the day after: a did not report that day.
      assertEquals((await store.add([from("a", 1)])).added, 0);
      at(D + 3 * DAY_MS + 1);
      await store.add([from("a", 4)]);
      assertEquals(store.activeByDay(0), [
        { dayMs: D, clusters: 2 },
        { dayMs: D + DAY_MS, clusters: 1 },
        { dayMs: D + 3 * DAY_MS, clusters: 1 },
      ]);
      assertEquals(
        store.activeByDay(D + DAY_MS + 5 * HOUR_MS)?.map((d) => d.dayMs),
        [D + DAY_MS, D + 3 * DAY_MS],
      );
      assertEquals(store.held(), 6);
      await store.deleteReceivedBefore(D + DAY_MS + HOUR_MS);
      assertEquals(store.activeByDay(0), [
        { dayMs: D + DAY_MS, clusters: 1 },
        { dayMs: D + 3 * DAY_MS, clusters: 1 },
      ]);
      assertEquals(store.held(), 2);
    },
  },
  {
    name:
      "clusters per day: an event counts on the day it is heard from (an imported event's own), and only hodometer's events are clusters",
    for: "keeping",
    async run({ store, at }) {
      at(D + 5 * DAY_MS + HOUR_MS);
      const imported = from("a", 1);
      imported.seenAtMs = D + 2 * DAY_MS + HOUR_MS;
      const other = from("x", 2);
      other.event = "page view";
      await store.add([imported, from("b", 2), other]);
      assertEquals(store.activeByDay(0), [
        { dayMs: D + 2 * DAY_MS, clusters: 1 },
        { dayMs: D + 5 * DAY_MS, clusters: 1 },
      ]);
      assertEquals(store.held(), 3, "the other event is kept all the same");
    },
  },
  {
    name:
      "deleteReceivedBefore: exactly the events received before the cutoff (by receive time), resolving to how many; nothing is due twice",
    for: "keeping",
    async run({ store, at }) {
      for (let i = 0; i < 6; i++) {
        at(D + i * DAY_MS);
        // Its own time says nothing: the receive time decides.
        await store.add([sampleAccepted(i, { time: 1 })]);
      }
      assertEquals(await store.deleteReceivedBefore(D + 3 * DAY_MS), 3);
      assertEquals(ids(storedEvents(store)), [
        "insert-3",
        "insert-4",
        "insert-5",
      ]);
      assertEquals(store.held(), 3);
      assertEquals(await store.deleteReceivedBefore(D + 3 * DAY_MS), 0);
      assertEquals(store.planPage({ after: 0, limit: 10 }), {
        lastId: 6,
        count: 3,
        more: false,
      });
      const history = store.history(
        nth(storedEvents(store), 0).properties
          .distinct_id as string,
        10,
      );
      assertEquals(history.map((h) => h.receivedAtMs), [
        D + 3 * DAY_MS,
        D + 4 * DAY_MS,
        D + 5 * DAY_MS,
      ]);
    },
  },
  {
    name: "a closed store refuses to add",
    async run({ store }) {
      store.close();
      // Thrown or rejected: a caller awaits either.
      await assertRejects(
        async () => await store.add([sampleAccepted(1)]),
        /closed/,
      );
    },
  },
  {
    name:
      "busy: past what may wait to be written a batch is refused with StoreBusyError, the batches taken are recorded, and there is room again after",
    for: "bounded",
    async run({ store }) {
      const first = store.add([1, 2, 3].map((i) => sampleAccepted(i)));
      const refused = await Promise.resolve()
        .then(() => store.add([4, 5, 6].map((i) => sampleAccepted(i))))
        .then(() => undefined, (err: unknown) => err);
      assert(refused instanceof StoreBusyError, `refused with ${refused}`);
      assertMatch(
        refused.message,
        /more than 5 events are waiting to be written/,
      );
      assertEquals((await first).added, 3);
      assertEquals(
        (await store.add([4, 5].map((i) => sampleAccepted(i)))).added,
        2,
      );
      assertEquals(store.total(), 5);
    },
  },
  {
    name:
      "a write that fails fails its whole batch (batches written together too): nothing half-written, and the store keeps working",
    for: "failing",
    async run({ store }) {
      const big = (i: number) => sampleAccepted(i, { pad: "x".repeat(3000) });
      const results = await Promise.allSettled([
        store.add([big(1), big(2), big(3)]),
        store.add([big(4), big(5), big(6)]),
      ]);
      for (const r of results) assertEquals(r.status, "rejected");
      assertEquals(ids(storedEvents(store)), ["insert-0"]);
      assertEquals(store.total(), 1);
      // Nothing of a failed batch counts as seen: a retry of it is fresh.
      assertEquals((await store.add([sampleAccepted(7)])).added, 1);
      assertEquals(ids(storedEvents(store)), ["insert-0", "insert-7"]);
    },
  },
];

const applies = (c: ContractCase, kind: StoreKind): boolean =>
  c.for === undefined ||
  (c.for === "keeping" && kind.keepsEvents) ||
  (c.for === "bounded" && kind.openBounded !== undefined) ||
  (c.for === "failing" && kind.openFull !== undefined);

/** Opens the store a case needs. */
function openFor(
  c: ContractCase,
  kind: StoreKind,
  now: () => number,
): Promise<OpenedStore> {
  if (c.for === "bounded") return kind.openBounded!(5, now);
  if (c.for === "failing") return kind.openFull!(now);
  return kind.open(now);
}

/** Registers one test per case that applies to `kind`, named after both. */
export function testStoreContract(kind: StoreKind): void {
  for (const c of STORE_CONTRACT) {
    if (!applies(c, kind)) continue;
    Deno.test(`${kind.name}: ${c.name}`, async () => {
      let clock = D;
      const opened = await openFor(c, kind, () => clock);
      try {
        await c.run({
          store: opened.store,
          kind,
          at: (ms) => clock = ms,
        });
      } finally {
        await opened.close();
      }
    });
  }
}
