// The in-memory event stores of the three record levels.

import { assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { createMemoryStore } from "../src/receive/memory_store.ts";
import { sampleEvent } from "./receive_sample.ts";

const ids = (events: { properties: Record<string, unknown> }[]) =>
  events.map((e) => e.properties.$insert_id);

Deno.test("all: a bounded ring that drops the oldest first and counts the drops", async () => {
  const store = createMemoryStore({ recordLevel: "all", maxEvents: 3 });
  for (let i = 0; i < 5; i++) await store.add([sampleEvent(i)]);
  assertEquals(ids(store.list({})), ["insert-2", "insert-3", "insert-4"]);
  assertEquals(store.total(), 5);
  assertEquals(store.stats(), {
    recordLevel: "all",
    totalEvents: 5,
    storedEvents: 3,
    droppedEvents: 2,
    duplicateEvents: 0,
    maxEvents: 3,
  });
  // A batch larger than the ring keeps its newest events.
  await store.add([5, 6, 7, 8].map((i) => sampleEvent(i)));
  assertEquals(ids(store.list({})), ["insert-6", "insert-7", "insert-8"]);
  assertEquals(store.stats().droppedEvents, 6);
  store.close();
});

Deno.test("all: limit gives the newest N, oldest first; distinctId and before filter", async () => {
  let clock = 1000;
  const store = createMemoryStore({
    recordLevel: "all",
    maxEvents: 10,
    now: () => clock,
  });
  for (let i = 0; i < 6; i++) {
    clock += 10;
    await store.add([
      sampleEvent(i, { distinct_id: i % 2 === 0 ? "even" : "odd" }),
    ]);
  }
  assertEquals(ids(store.list({ limit: 2 })), ["insert-4", "insert-5"]);
  assertEquals(ids(store.list({ limit: 100 })).length, 6);
  assertEquals(
    ids(store.list({ distinctId: "odd", limit: 2 })),
    ["insert-3", "insert-5"],
  );
  assertEquals(ids(store.list({ before: 1030 })), ["insert-0", "insert-1"]);
  store.close();
});

Deno.test("re-deliveries (same distinct_id and $insert_id) are recognised", async () => {
  const store = createMemoryStore({ recordLevel: "all", maxEvents: 10 });
  assertEquals(await store.add([sampleEvent(1), sampleEvent(2)]), {
    added: 2,
    duplicates: 0,
  });
  assertEquals(
    await store.add([sampleEvent(2), sampleEvent(3), sampleEvent(3)]),
    { added: 1, duplicates: 2 },
  );
  assertEquals(store.total(), 3);
  assertEquals(ids(store.list({})), ["insert-1", "insert-2", "insert-3"]);
  // The same $insert_id from another cluster is another event.
  assertEquals(
    await store.add([sampleEvent(1, { distinct_id: "other" })]),
    { added: 1, duplicates: 0 },
  );
  store.close();
});

Deno.test("summary counts and keeps no events; none keeps nothing but a count", async () => {
  const summary = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  await summary.add([sampleEvent(1), sampleEvent(2)]);
  await summary.add([sampleEvent(2)]);
  assertEquals(summary.total(), 2);
  assertEquals(summary.list({}), []);
  assertEquals(summary.stats().storedEvents, 0);
  summary.close();

  const none = createMemoryStore({ recordLevel: "none", maxEvents: 10 });
  await none.add([sampleEvent(1)]);
  await none.add([sampleEvent(1)]);
  assertEquals(none.total(), 2);
  assertEquals(none.list({}), []);
  none.close();
});

Deno.test("a closed store refuses to add; a bad maxEvents is refused", async () => {
  const store = createMemoryStore({ recordLevel: "all", maxEvents: 1 });
  store.close();
  await assertRejects(() => store.add([sampleEvent(1)]), /closed/);
  assertThrows(
    () => createMemoryStore({ recordLevel: "all", maxEvents: 0 }),
    /maxEvents/,
  );
});
