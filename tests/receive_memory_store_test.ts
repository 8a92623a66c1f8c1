// What only the memory store does: its ring of events (RECORD_LEVEL=all)
// bounded by count and by bytes, its de-duplication window, and what it counts
// since start. What every store promises is tests/store_contract.ts's, run on
// it by tests/store_contract_test.ts.

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import { BYTES_PER_KEY, DedupWindow } from "../src/receive/store/dedup.ts";
import { ids, sampleAccepted, storedEvents } from "./receive_sample.ts";

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

Deno.test("total and duplicates count since start: events dropped by the ring or deleted by retention still count", async () => {
  let clock = 1000;
  const store = createMemoryStore({
    recordLevel: "all",
    maxEvents: 2,
    now: () => clock,
  });
  await store.add([1, 2, 3].map((i) => sampleAccepted(i)));
  await store.add([sampleAccepted(3)]);
  clock = 2000;
  await store.add([sampleAccepted(4)]);
  assertEquals(await store.deleteReceivedBefore(2000), 1);
  assertEquals([store.total(), store.held()], [4, 1]);
  const stats = store.stats();
  assertEquals(
    [stats.storedEvents, stats.droppedEvents, stats.duplicateEvents],
    [1, 2, 1],
  );
  store.close();
});

Deno.test("a re-delivery is recognised while the de-duplication window remembers it, whether or not its event is still held", async () => {
  let clock = 1000;
  const store = createMemoryStore({
    recordLevel: "all",
    maxEvents: 10,
    now: () => clock,
  });
  await store.add([sampleAccepted(1)]);
  clock = 2000;
  assertEquals(await store.deleteReceivedBefore(2000), 1);
  assertEquals((await store.add([sampleAccepted(1)])).duplicates, 1);
  store.close();
});

Deno.test("summary and none count events and hold none", async () => {
  for (const level of ["none", "summary"] as const) {
    const store = createMemoryStore({ recordLevel: level, maxEvents: 10 });
    await store.add([sampleAccepted(1), sampleAccepted(2), sampleAccepted(2)]);
    const { totalEvents, storedEvents, storedBytes, duplicateEvents } = store
      .stats();
    assertEquals(
      [totalEvents, storedEvents, storedBytes, duplicateEvents],
      [2, 0, 0, 1],
      level,
    );
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

Deno.test("a bad maxEvents is refused", () => {
  assertThrows(
    () => createMemoryStore({ recordLevel: "all", maxEvents: 0 }),
    /maxEvents/,
  );
  assertThrows(
    () => createMemoryStore({ recordLevel: "all", maxEvents: 1.5 }),
    /maxEvents/,
  );
});
