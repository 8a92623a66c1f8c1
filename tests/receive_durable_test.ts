// `hodometer receive` with the SQLite store, end to end: kill -9 in a burst
// loses no acknowledged event, restarts keep events and snapshots, a store
// that cannot be opened stops start-up, a failing write is a 503.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import { openSqliteStore } from "../src/receive/store/sqlite_store.ts";
import { logger } from "../src/log/setup.ts";
import { fetchAllEvents, sampleEvent, storedEvents } from "./receive_sample.ts";
import { call } from "./fixtures/receiver_call.ts";

async function withDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-durable-" });
  try {
    return await use(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const postEvent = (url: string, event: unknown) =>
  fetch(`${url}/track?verbose=1`, {
    method: "POST",
    body: JSON.stringify(event),
    headers: { "content-type": "application/json" },
    signal: AbortSignal.timeout(30_000),
  });

Deno.test("kill -9 during a burst of 1000 concurrent posts: every event answered 200 is in the store after restart", async () => {
  await withDir(async (dir) => {
    const args = ["--record-level", "all", "--store", `${dir}/events.db`];
    const first = await startReceiverProcess({ args });
    const acknowledged: string[] = [];
    let failed = 0;
    try {
      const KILL_AFTER = 100;
      await Promise.all(
        Array.from({ length: 1000 }, async (_, i) => {
          const event = sampleEvent(i, {
            distinct_id: `cluster-${i % 7}`,
          });
          try {
            const res = await postEvent(first.url, event);
            const body = await res.text();
            if (res.status === 200 && body === '{"status":1,"error":""}') {
              acknowledged.push(`cluster-${i % 7}/insert-${i}`);
              if (acknowledged.length === KILL_AFTER) first.signal("SIGKILL");
            } else {
              failed++;
            }
          } catch {
            failed++; // the connection died with the process
          }
        }),
      );
      const exit = await first.exited();
      assertEquals(exit.signal, "SIGKILL");
    } finally {
      await first.stop();
    }
    console.log(
      `kill -9 burst: ${acknowledged.length} answered 200, ${failed} not`,
    );
    assert(acknowledged.length >= 100, "the burst was under way");
    assert(failed > 0, "the process died in the middle of the burst");

    const second = await startReceiverProcess({ args });
    try {
      const stored = await fetchAllEvents(second.url);
      const keys = stored.map((e) =>
        `${e.properties.distinct_id}/${e.properties.$insert_id}`
      );
      const present = new Set(keys);
      assertEquals(present.size, keys.length, "no event stored twice");
      const lost = acknowledged.filter((k) => !present.has(k));
      assertEquals(lost, [], "acknowledged events missing after kill -9");
      assert(stored.length >= acknowledged.length);
    } finally {
      assertEquals((await second.stop()).code, 0);
    }
  });
});

Deno.test("restart: events, de-duplication and the per-cluster snapshots come back from the store", async () => {
  await withDir(async (dir) => {
    const args = ["--record-level", "all", "--store", `${dir}/events.db`];
    const first = await startReceiverProcess({ args });
    try {
      for (const n of [1, 2, 3]) {
        const res = await postEvent(
          first.url,
          sampleEvent(n, { model_count: n * 11 }),
        );
        assertEquals(res.status, 200);
        await res.body?.cancel();
      }
    } finally {
      assertEquals((await first.stop()).code, 0);
    }

    const second = await startReceiverProcess({ args });
    try {
      // Delivered again after the restart: a success, stored once.
      const again = await postEvent(second.url, sampleEvent(2));
      assertEquals(again.status, 200);
      assertEquals(await again.text(), '{"status":1,"error":""}');
      const events = await (await fetch(`${second.url}/events`)).json();
      assertEquals(
        events.map((e: { properties: { $insert_id: string } }) =>
          e.properties.$insert_id
        ),
        ["insert-1", "insert-2", "insert-3"],
      );
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      assertMatch(
        metrics,
        /\nseldon_usage_model_count\{cluster_id="22d36da9-9b3a-42ec-adf7-28ca710e6183"\} 33\n/,
      );
      assertMatch(metrics, /\nhodometer_receiver_events_duplicate_total 1\n/);
      const page = await (await fetch(`${second.url}/`)).text();
      assertMatch(page, /data-cluster="22d36da9-9b3a-42ec-adf7-28ca710e6183"/);
      const history = await (await fetch(
        `${second.url}/clusters/22d36da9-9b3a-42ec-adf7-28ca710e6183`,
      )).text();
      assertMatch(
        history,
        /<title>model_count \(models\): 11 on [^<]* → 33 on [^<]*, 3 points<\/title>/,
      );
      const health = await (await fetch(`${second.url}/healthz`)).json();
      assertEquals(health.storedEvents, 3);
      assertEquals(health.clusters, 1);
    } finally {
      assertEquals((await second.stop()).code, 0);
    }
  });
});

Deno.test("the default store is <state dir>/events.db; :memory: keeps the bounded memory store", async () => {
  await withDir(async (dir) => {
    const onDisk = await startReceiverProcess({
      args: ["--record-level", "all", "--state-dir", `${dir}/state`],
    });
    try {
      const res = await postEvent(onDisk.url, sampleEvent(1));
      assertEquals(res.status, 200);
      await res.body?.cancel();
    } finally {
      assertEquals((await onDisk.stop()).code, 0);
    }
    assert((await Deno.stat(`${dir}/state/events.db`)).isFile);

    const memory = await startReceiverProcess({
      args: [
        "--record-level",
        "all",
        "--store",
        ":memory:",
        "--max-events",
        "2",
      ],
      env: { STATE_DIR: `${dir}/unused` },
    });
    try {
      const health = await (await fetch(`${memory.url}/healthz`)).json();
      assertEquals(health.maxEvents, 2);
      assertEquals(health.storedEvents, 0);
    } finally {
      assertEquals((await memory.stop()).code, 0);
    }
    const unused = await Deno.stat(`${dir}/unused`).then(
      () => true,
      () => false,
    );
    assertEquals(unused, false, ":memory: writes nothing to disk");
  });
});

Deno.test("a store that cannot be opened stops start-up with exit 1 naming the path and the cause", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/garbage.db`;
    await Deno.writeTextFile(path, "not a database, only text. ".repeat(200));
    const out = await hodometer([
      "receive",
      "--listen-host",
      "127.0.0.1",
      "--listen-port",
      "0",
      "--record-level",
      "all",
      "--store",
      path,
    ]);
    const stderr = out.stderr;
    assertEquals(out.code, 1, stderr);
    assertMatch(stderr, /cannot open the event store/);
    assert(stderr.includes(path), stderr);
    assertMatch(stderr, /file is not a database/);
    assert(!/listening on/.test(stderr), "it never listened");
  });
});

Deno.test("a write that fails (disk full) is answered 503 with Retry-After, never 200, and counted", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/events.db`;
    // Room for the schema and one small event, not for a 56 KB one.
    const opened = openSqliteStore({ path, maxPageCount: 8 });
    assert(opened.ok, opened.ok ? "" : opened.error);
    const store = opened.store;
    try {
      const r = createReceiver({
        store,
        recordLevel: "all",
        logger: logger("receive", "test"),
      });
      const post = (event: unknown) =>
        call(r.app, "/track?verbose=1", {
          method: "POST",
          body: JSON.stringify(event),
          headers: { "content-type": "application/json" },
        });
      const small = await post(sampleEvent(1));
      assertEquals(small.status, 200);
      await small.body?.cancel();

      const pads = Object.fromEntries(
        Array.from({ length: 7 }, (_, i) => [`pad${i}`, "x".repeat(8000)]),
      );
      const big = await post(sampleEvent(2, pads));
      assertEquals(big.status, 503);
      assertEquals(big.headers.get("retry-after"), "5");
      const answer = await big.json();
      assertEquals(answer.status, 0);
      assertMatch(answer.error, /event not recorded/);
      assertEquals(r.counters.rejected.store_failed, 1);
      assertEquals(r.counters.received, 1);
      assertEquals(
        storedEvents(store).map((e) => e.properties.$insert_id),
        ["insert-1"],
      );
      // The failed event's cluster snapshot was not updated either.
      assertEquals(
        r.clusters.get(sampleEvent(1).properties.distinct_id as string)
          ?.values.get("model_count"),
        1,
      );
    } finally {
      store.close();
    }
  });
});
