// What a person sees of what clients sent: invisible characters made visible,
// labels and shares never cut or rounded into a lie, cluster ids told apart,
// Mixpanel events that are not hodometer's counted apart, and history sent to
// /import counted on its own days. Through the receiver's routes, no sockets.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import {
  createMemoryStore,
  type EventStore,
} from "../src/receive/store/mod.ts";
import { openSqliteStore } from "../src/receive/store/sqlite_store.ts";
import { percent, shareChart } from "../src/receive/views/charts.ts";
import { importedSeenAt, visible } from "../src/receive/event/mod.ts";
import { IdPrefixes } from "../src/receive/views/id_prefix.ts";
import { logger } from "../src/log/setup.ts";
import { call } from "./fixtures/receiver_call.ts";
import { sampleEvent } from "./receive_sample.ts";
import { DAY_MS } from "../src/runtime/units.ts";

const START = Date.UTC(2026, 10, 20, 12);

function receiverOver(store: EventStore, retentionMs = 0) {
  const clock = { now: START };
  const r = createReceiver({
    store,
    recordLevel: "all",
    logger: logger("receive", "test"),
    now: () => clock.now,
    retentionMs,
  });
  const send = async (path: string, events: unknown[]) => {
    const res = await call(r.app, path, {
      method: "POST",
      body: events.map((e) => JSON.stringify(e)).join("\n"),
      headers: { "content-type": "application/x-ndjson" },
    });
    assertEquals(res.status, 200, await res.clone().text());
    await res.body?.cancel();
  };
  const text = async (path: string) => await (await call(r.app, path)).text();
  return { r, clock, send, text };
}

const memoryStore = (clock?: () => number) =>
  createMemoryStore({ recordLevel: "all", maxEvents: 1000, now: clock });

Deno.test("visible: controls, format and bidi characters become escapes; the rest stays", () => {
  assertEquals(visible("plain é 😀 text"), "plain é 😀 text");
  assertEquals(visible("a\u0000b"), "a\\u0000b");
  assertEquals(visible("id\u202Eexe.txt"), "id\\u202Eexe.txt");
  assertEquals(
    visible("\u2066x\u2069\u200B\uFEFF"),
    "\\u2066x\\u2069\\u200B\\uFEFF",
  );
  assertEquals(visible("\u001b[31m\u2028"), "\\u001B[31m\\u2028");
  assertEquals(visible("\u{E0001}tag"), "\\u{E0001}tag");
  assertEquals(visible("lone \uD800"), "lone \\uD800");
});

Deno.test("a client's NUL and U+202E are shown as \\u0000 and \\u202E on the overview and the cluster page, never as the character or a reference", async () => {
  const id = "evil\u0000\u202Eexe.cluster-id";
  const { send, text } = receiverOver(memoryStore());
  await send("/track", [
    sampleEvent(1, {
      distinct_id: id,
      seldon_core_version: "2.9\u202E.0\u0007",
      collector_version: "1.0\u2066.0",
    }),
  ]);
  for (
    const path of ["/", `/clusters/${encodeURIComponent(id)}`, "/?window=all"]
  ) {
    const html = await text(path);
    assert(html.includes("\\u0000") && html.includes("\\u202E"), path);
    for (const raw of ["\u0000", "\u202E", "\u0007", "\u2066"]) {
      assert(!html.includes(raw), `${path}: U+${raw.codePointAt(0)} as is`);
    }
    assert(!/&#(0|8238|7|8294|x0|x202e);/i.test(html), `${path}: a reference`);
  }
  assertMatch(await text("/"), /2\.9\\u202E\.0\\u0007/);
});

Deno.test("a share never says 100 % or 0 % when it is not; a chart's labels and values are drawn whole, inside it", () => {
  assertEquals(percent(3000, 3001), "99.9%");
  assertEquals(percent(3001, 3001), "100%");
  assertEquals(percent(1, 5000), "0.1%");
  assertEquals(percent(0, 5000), "0.0%");
  assertEquals(percent(1, 2), "50%");
  assertEquals(percent(5, 100), "5.0%");
  const label = "a feature with a long name indeed (GPU)";
  const svg = shareChart({
    title: "Features",
    unit: "clusters",
    rows: [{ label, count: 3000, of: 3001 }],
  });
  const width = Number(/viewBox="0 0 (\d+) /.exec(svg)?.[1]);
  const texts = [...svg.matchAll(/<text x="([\d.]+)"[^>]*>([^<]*)<\/text>/g)]
    .map((m) => ({ x: Number(m[1]), text: m[2]! }));
  assertEquals(texts.map((t) => t.text), [label, "3000 of 3001 (99.9%)"]);
  for (const t of texts) {
    // 11 px system-ui: no character of these is wider than 6.8 px.
    assert(t.x + t.text.length * 6.8 <= width, `${t.text} cut at ${width}`);
  }
});

Deno.test("ids are shown by the shortest prefix of at least 8 characters that no other held cluster shares", () => {
  const ids = [
    "00000000-aaaa-4000-8000-000000000001",
    "00000000-aaab-4000-8000-000000000002",
    "00000000-b000-4000-8000-000000000003",
    "12345678-0000-4000-8000-000000000004",
    "short-id",
  ];
  const p = new IdPrefixes(ids);
  assertEquals(ids.map((id) => p.short(id)), [
    "00000000-aaaa…",
    "00000000-aaab…",
    "00000000-b…",
    "12345678…",
    "short-id",
  ]);
  const alone = new IdPrefixes(["00000000-0000-4000-8000-000000000001"]);
  assertEquals(
    alone.short("00000000-0000-4000-8000-000000000001"),
    "00000000…",
  );
});

Deno.test("the overview's links show ids that share 8 characters apart", async () => {
  const { send, text } = receiverOver(memoryStore());
  await send("/track", [
    sampleEvent(1, { distinct_id: "00000000-0000-4000-8000-00000000000a" }),
    sampleEvent(2, { distinct_id: "00000000-0000-4000-8000-00000000000b" }),
  ]);
  const shown = [...(await text("/")).matchAll(/<code>([^<]*)<\/code><\/a>/g)]
    .map((m) => m[1]).toSorted();
  assertEquals(shown, [
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000b",
  ]);
});

Deno.test("Mixpanel events that are not hodometer's are kept and counted apart: no cluster, said on the page and in /metrics", async () => {
  const { r, send, text } = receiverOver(memoryStore());
  await send("/track", [
    sampleEvent(1),
    { event: "page view", properties: { token: "t", distinct_id: "user-1" } },
    { event: "signup", properties: { token: "t", distinct_id: "user-2" } },
  ]);
  assertEquals(r.clusters.size, 1);
  assertEquals(r.counters.otherEvents, 2);
  const metrics = await text("/metrics");
  assertMatch(metrics, /\nhodometer_receiver_events_other_total 2\n/);
  assertMatch(metrics, /\nhodometer_receiver_clusters 1\n/);
  const page = await text("/");
  assertMatch(page, /2 events received since start are not hodometer's/);
  assert(!page.includes("user-1"), "not listed as a cluster");
  const events = JSON.parse(await text("/events"));
  assertEquals(events.length, 3, "kept as events");
});

Deno.test("importedSeenAt: its own time in the past, never in the future, never before the retention's start", () => {
  const now = START;
  assertEquals(
    importedSeenAt((now - 3 * DAY_MS) / 1000, now, 0),
    now - 3 * DAY_MS,
  );
  assertEquals(importedSeenAt((now + DAY_MS) / 1000, now, 0), now);
  assertEquals(importedSeenAt(null, now, 0), now);
  assertEquals(
    importedSeenAt((now - 90 * DAY_MS) / 1000, now, 30 * DAY_MS),
    now - 30 * DAY_MS,
  );
  assertEquals(
    importedSeenAt((now - 90 * DAY_MS) / 1000, now, 0),
    now - 90 * DAY_MS,
  );
});

/** The per-day counts of a store from 60 days back, as [days before START, clusters]. */
const perDay = (store: EventStore) =>
  store.activeByDay(START - 60 * DAY_MS)!.map((d) => [
    Math.round((Math.floor(START / DAY_MS) * DAY_MS - d.dayMs) / DAY_MS),
    d.clusters,
  ]);

for (const kind of ["memory", "sqlite"] as const) {
  Deno.test(`${kind}: history sent to /import counts on its own days and makes a cluster silent; /track, the future and before retention do not`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "hodometer-import-" });
    let store: EventStore | undefined;
    try {
      const clock = () => START;
      if (kind === "memory") store = memoryStore(clock);
      else {
        const opened = openSqliteStore({ path: `${dir}/e.db`, now: clock });
        assert(opened.ok);
        store = opened.store;
      }
      const { r, send } = receiverOver(store, 30 * DAY_MS);
      const at = (days: number) => (START - days * DAY_MS) / 1000;
      const old = (n: number, id: string, days: number) =>
        sampleEvent(n, { distinct_id: id, time: at(days) });
      await send("/import", [
        old(1, "a-silent-cluster-0001", 10),
        old(2, "a-silent-cluster-0001", 9),
        old(3, "b-live-cluster-00002", 5),
        old(4, "c-future-cluster-003", -2),
        old(5, "d-ancient-cluster-04", 400),
      ]);
      await send("/track", [old(6, "b-live-cluster-00002", 20)]);
      // Older history of b after its live event: it keeps its live snapshot.
      await send("/import", [old(7, "b-live-cluster-00002", 3)]);
      // a on days 10 and 9; b on 5 and 3 (imported) and today (/track); c
      // (a future time) today; d (older than the retention) on its first day.
      assertEquals(perDay(store), [
        [30, 1],
        [10, 1],
        [9, 1],
        [5, 1],
        [3, 1],
        [0, 2],
      ]);
      const seen = (id: string) =>
        (START - r.clusters.get(id)!.lastSeenMs) / DAY_MS;
      assertEquals(seen("a-silent-cluster-0001"), 9);
      assertEquals(seen("b-live-cluster-00002"), 0);
      assertEquals(
        r.clusters.get("b-live-cluster-00002")!.values.get("model_count"),
        6,
      );
      assertEquals(seen("c-future-cluster-003"), 0);
      assertEquals(seen("d-ancient-cluster-04"), 30);
      const page = await (await call(r.app, "/?silent_after=7d")).text();
      const silentList = /id="silent-list"[\s\S]*?<\/table>/.exec(page)?.[0] ??
        "";
      assert(silentList.includes("a-silent"), "a is silent");
      assert(!silentList.includes("b-live"), "b is not");
    } finally {
      store?.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
