// The in-memory event stores of the three record levels, and the
// de-duplication window they share.

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import { BYTES_PER_KEY, DedupWindow } from "../src/receive/store/dedup.ts";
import {
  addAlternating,
  assertAlternatingPages,
  ids,
  sampleAccepted,
  storedEvents,
} from "./receive_sample.ts";

Deno.test("all: a ring bounded by count that drops the oldest first and counts the drops", async () => {
  const store = createMemoryStore({ recordLevel: "all", maxEvents: 3 });
  for (let i = 0; i < 5; i++) await store.add([sampleAccepted(i)]);
  assertEquals(ids(storedEvents(store)), ["insert-2", "insert-3", "insert-4"]);
  assertEquals(store.total(), 5);
  const stats = store.stats();
  assertEquals(
    [stats.totalEvents, stats.storedEvents, stats.droppedEvents],
    [5, 3, 2],
  );
  // A batch larger than the ring keeps its newest events.
  await store.add([5, 6, 7, 8].map((i) => sampleAccepted(i)));
  assertEquals(ids(storedEvents(store)), ["insert-6", "insert-7", "insert-8"]);
  assertEquals(store.stats().droppedEvents, 6);
  store.close();
});

Deno.test("all: the ring is bounded in bytes too, whatever the count allows", async () => {
  const store = createMemoryStore({
    recordLevel: "all",
    maxEvents: 1_000_000,
    maxBytes: 200_000,
  });
  const pad = "x".repeat(8000); // ~16 kB an event
  for (let i = 0; i < 200; i++) await store.add([sampleAccepted(i, { pad })]);
  const { storedBytes, storedEvents: held, droppedEvents } = store.stats();
  assert(storedBytes <= 200_000, `${storedBytes} bytes held`);
  assert(held >= 10 && held < 15, `${held} held`);
  assertEquals(held + droppedEvents, 200);
  assertEquals(ids(storedEvents(store)).at(-1), "insert-199");
  store.close();
});

Deno.test("all: pages in arrival order after a cursor; distinct_id filters; history reads numbers", async () => {
  let clock = 1000;
  const store = createMemoryStore({
    recordLevel: "all",
    maxEvents: 10,
    now: () => clock,
  });
  await addAlternating(store, () => clock += 10);
  assertAlternatingPages(store);
  assertEquals(
    store.rows(0, 4, 100).map((r) => [r.id, r.receivedAtMs]),
    [[1, 1010], [2, 1020], [3, 1030], [4, 1040]],
  );
  const history = store.history("even", 2);
  assertEquals(history.map((h) => h.receivedAtMs), [1030, 1050]);
  assertEquals(history.map((h) => h.values.get("model_count")), [2, 4]);
  // Retention drops by receive time.
  assertEquals(await store.deleteReceivedBefore(1035), 3);
  assertEquals(ids(storedEvents(store)), ["insert-3", "insert-4", "insert-5"]);
  store.close();
});

Deno.test("re-deliveries (same distinct_id and $insert_id) are recognised at every level; no $insert_id, no de-duplication", async () => {
  for (const level of ["none", "summary", "all"] as const) {
    const store = createMemoryStore({ recordLevel: level, maxEvents: 10 });
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
    assertEquals(store.total(), 3, level);
    // The same $insert_id from another cluster is another event.
    assertEquals(
      (await store.add([sampleAccepted(1, { distinct_id: "other" })])).added,
      1,
    );
    const bare = sampleAccepted(9, { $insert_id: undefined });
    assertEquals(bare.insertId, null);
    assertEquals((await store.add([bare, bare])).added, 2, level);
    store.close();
  }
});

Deno.test("summary and none keep no events", async () => {
  for (const level of ["none", "summary"] as const) {
    const store = createMemoryStore({ recordLevel: level, maxEvents: 10 });
    await store.add([sampleAccepted(1), sampleAccepted(2)]);
    assertEquals(store.keepsEvents, false);
    assertEquals(storedEvents(store), []);
    assertEquals(store.stats().storedEvents, 0);
    store.close();
  }
});

Deno.test("the de-duplication window: fixed-size keys, bounded by bytes, unambiguous", () => {
  const window = new DedupWindow(100 * BYTES_PER_KEY);
  assertEquals(window.capacity, 100);
  assertEquals(window.key("a", "b").length, 4);
  assertEquals(window.key("x".repeat(255), "y".repeat(36)).length, 4);
  // "a\0b" + "c" and "a" + "b\0c" are different pairs.
  assert(window.key("a\0b", "c") !== window.key("a", "b\0c"));
  assert(window.key("ab", "c") !== window.key("a", "bc"));
  assertEquals(window.seen("d", "1"), false);
  assertEquals(window.seen("d", "1"), true);
  for (let i = 2; i <= 100; i++) window.seen("d", String(i));
  assertEquals(window.size, 100);
  window.seen("d", "101"); // forgets "1", the oldest
  assertEquals(window.size, 100);
  assertEquals(window.seen("d", "1"), false);
  assertEquals(window.seen("d", "100"), true);
  // Different seeds, different keys: nobody outside knows which pairs collide.
  assert(
    new DedupWindow(1000).key("a", "b") !== new DedupWindow(1000).key("a", "b"),
  );
});

Deno.test("a closed store refuses to add; a bad maxEvents is refused", () => {
  const store = createMemoryStore({ recordLevel: "all", maxEvents: 1 });
  store.close();
  assertThrows(() => store.add([sampleAccepted(1)]), /closed/);
  assertThrows(
    () => createMemoryStore({ recordLevel: "all", maxEvents: 0 }),
    /maxEvents/,
  );
});
