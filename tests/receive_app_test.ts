// The receiver's HTTP layer through app.fetch: routes, answers, body limits,
// compression, hooks and store failures, without sockets.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "./assert.ts";
import { createReceiverApp, VERBOSE_OK } from "../src/receive/app.ts";
import type { ReceiverAppOptions } from "../src/receive/app.ts";
import type { RejectKind } from "../src/receive/decode.ts";
import {
  createMemoryStore,
  type MemoryStore,
} from "../src/receive/memory_store.ts";
import type { EventStore, ReceivedEvent } from "../src/receive/store.ts";
import type { RecordLevel } from "../src/config/settings.ts";
import { logger, setupLogging } from "../src/log/setup.ts";
import { encodeEventData } from "../src/publish/event.ts";
import { gzip, REFERENCE_DATA, sampleEvent, utf8 } from "./receive_sample.ts";

const MiB = 1024 * 1024;
const BASE = "http://receiver.test";

interface Harness {
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  store: MemoryStore;
  accepted: ReceivedEvent[][];
  rejected: RejectKind[];
}

function harness(
  level: RecordLevel = "all",
  over: Partial<ReceiverAppOptions> = {},
): Harness {
  const store = createMemoryStore({ recordLevel: level, maxEvents: 100 });
  const accepted: ReceivedEvent[][] = [];
  const rejected: RejectKind[] = [];
  const app = createReceiverApp({
    store,
    recordLevel: level,
    logger: logger("receive", "test"),
    health: () => ({ ...store.stats() }),
    onAccepted: (events) => accepted.push([...events]),
    onRejected: (kind) => rejected.push(kind),
    ...over,
  });
  return {
    fetch: async (path, init) =>
      await app.fetch(new Request(BASE + path, init)),
    store,
    accepted,
    rejected,
  };
}

const track = (event: unknown, extra = "") =>
  `/track?data=${encodeURIComponent(encodeEventData(event as never))}${extra}`;

/** A body stream of `total` bytes in 64 KiB chunks that counts what was pulled. */
function countedStream(total: number, byte = 0x20) {
  const counter = { pulled: 0, cancelled: false };
  const chunk = new Uint8Array(64 * 1024).fill(byte);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled >= total) return controller.close();
      counter.pulled += chunk.length;
      controller.enqueue(chunk);
    },
    cancel() {
      counter.cancelled = true;
    },
  });
  return { stream, counter };
}

Deno.test("the reference publish is accepted with the reference's verbose answer", async () => {
  const h = harness("all");
  const res = await h.fetch(`/track?data=${REFERENCE_DATA}&verbose=1`);
  assertEquals(res.status, 200);
  assertEquals(await res.text(), VERBOSE_OK);
  assertEquals(VERBOSE_OK, '{"status":1,"error":""}');
  assertEquals(res.headers.get("content-type"), "text/plain; charset=utf-8");
  const [event] = h.store.list({});
  assertEquals(event.properties.$insert_id, "1795544503881249561");
  assertEquals(h.accepted.length, 1);
});

Deno.test("without verbose a success is 200 with an empty body, on any method", async () => {
  const h = harness("summary");
  for (const [i, method] of ["GET", "POST", "PUT"].entries()) {
    const res = await h.fetch(track(sampleEvent(i)), { method });
    assertEquals(res.status, 200, method);
    assertEquals(await res.text(), "");
  }
  const res = await h.fetch("/track", {
    method: "POST",
    body: JSON.stringify(sampleEvent(10)),
    headers: { "content-type": "application/json" },
  });
  assertEquals(res.status, 200);
  await res.body?.cancel();
  assertEquals(h.store.total(), 4);
});

Deno.test("the reference's failure answers, and the verbose status object", async () => {
  const h = harness();
  let res = await h.fetch("/track");
  assertEquals(res.status, 400);
  assertEquals(await res.text(), "no event provided\n");

  res = await h.fetch("/track?verbose=1");
  assertEquals(res.status, 400);
  assertEquals(await res.json(), { status: 0, error: "no event provided" });

  res = await h.fetch(`/track?data=${btoa('{"event": "foo"}')}`);
  assertEquals(res.status, 400);
  assertEquals(
    await res.text(),
    "unable to interpret request as an event: required fields not provided: properties\n",
  );

  res = await h.fetch("/track?verbose=1", {
    method: "POST",
    body: '{"event": "foo", "properties": {}}',
  });
  assertEquals(res.status, 400);
  assertEquals(await res.json(), {
    status: 0,
    error: "unable to interpret request as an event: " +
      "required fields not provided: token, time, distinct_id, $insert_id",
  });
  assertEquals(h.rejected, [
    "no_event",
    "no_event",
    "invalid_event",
    "invalid_event",
  ]);
  assertEquals(h.store.total(), 0);
});

Deno.test("a form body and a batch are accepted; a bad batch records nothing", async () => {
  const h = harness("all");
  let res = await h.fetch("/track?verbose=1", {
    method: "POST",
    body: new URLSearchParams({ data: encodeEventData(sampleEvent(1)) }),
  });
  assertEquals(await res.text(), VERBOSE_OK);

  const batch = Array.from({ length: 2000 }, (_, i) => sampleEvent(i + 10));
  res = await h.fetch("/track", {
    method: "POST",
    body: JSON.stringify(batch),
  });
  assertEquals(res.status, 200);
  await res.body?.cancel();
  assertEquals(h.store.total(), 2001);

  res = await h.fetch("/track", {
    method: "POST",
    body: JSON.stringify([...batch, sampleEvent(5000)]),
  });
  assertEquals(res.status, 400);
  assertStringIncludes(await res.text(), "at most 2000 events");

  const broken = [sampleEvent(3000), sampleEvent(3001), { event: "x" }];
  res = await h.fetch("/track", {
    method: "POST",
    body: JSON.stringify(broken),
  });
  assertEquals(res.status, 400);
  assertStringIncludes(await res.text(), "event 2 of the batch");
  assertEquals(h.store.total(), 2001, "nothing of a refused batch recorded");
});

Deno.test("a body over 1 MiB is refused by its Content-Length before it is read", async () => {
  const h = harness();
  const { stream, counter } = countedStream(2 * MiB);
  const res = await h.fetch("/track?verbose=1", {
    method: "POST",
    body: stream,
    headers: { "content-length": String(2 * MiB) },
  });
  assertEquals(res.status, 413);
  assertEquals(await res.json(), {
    status: 0,
    error: "request too large: the body is over 1048576 bytes",
  });
  assert(counter.pulled < 2 * MiB, `pulled ${counter.pulled}`);
  assertEquals(h.rejected, ["too_large"]);
});

Deno.test("a streamed body is cut off once it passes 1 MiB", async () => {
  const h = harness();
  const { stream, counter } = countedStream(2 * MiB);
  const res = await h.fetch("/track", { method: "POST", body: stream });
  assertEquals(res.status, 413);
  assertEquals(
    await res.text(),
    "request too large: the body is over 1048576 bytes\n",
  );
  assert(counter.pulled <= MiB + 3 * 64 * 1024, `pulled ${counter.pulled}`);
  assert(counter.cancelled, "the rest of the body is cancelled");

  // Exactly at the limit is fine as far as size goes.
  const ok = JSON.stringify(sampleEvent(1, { pad: "" }));
  const padded = ok.replace(
    '"pad":""',
    `"pad":"${"x".repeat(MiB - ok.length)}"`,
  );
  assertEquals(utf8(padded).length, MiB);
  const res2 = await h.fetch("/track", { method: "POST", body: padded });
  assertEquals(res2.status, 200);
  await res2.body?.cancel();
});

Deno.test("a gzip body is accepted; a gzip bomb is refused by its decompressed size", async () => {
  const h = harness("all");
  const body = await gzip(utf8(JSON.stringify(sampleEvent(1))));
  let res = await h.fetch("/track?verbose=1", {
    method: "POST",
    body: body as BufferSource,
    headers: { "content-encoding": "gzip" },
  });
  assertEquals(await res.text(), VERBOSE_OK);
  assertEquals(h.store.list({}), [sampleEvent(1)]);

  // 16 MiB of spaces compress to about 16 KiB.
  const bomb = await gzip(new Uint8Array(16 * MiB).fill(0x20));
  assert(bomb.length < MiB, `bomb is ${bomb.length} bytes`);
  res = await h.fetch("/track?verbose=1", {
    method: "POST",
    body: bomb as BufferSource,
    headers: { "content-encoding": "gzip" },
  });
  assertEquals(res.status, 413);
  assertEquals(await res.json(), {
    status: 0,
    error: "request too large: the decompressed body is over 1048576 bytes",
  });

  res = await h.fetch("/track", {
    method: "POST",
    body: "certainly not gzip",
    headers: { "content-encoding": "gzip" },
  });
  assertEquals(res.status, 400);
  assertEquals(await res.text(), "the body could not be read as gzip data\n");

  res = await h.fetch("/track", {
    method: "POST",
    body: "{}",
    headers: { "content-encoding": "br" },
  });
  assertEquals(res.status, 415);
  assertStringIncludes(await res.text(), "unsupported Content-Encoding");
  assertEquals(h.rejected, [
    "too_large",
    "unreadable_body",
    "unsupported_encoding",
  ]);
  assertEquals(h.store.total(), 1);
});

Deno.test("the event is recorded before the answer; a failing store gets 503, never 200", async () => {
  const release = Promise.withResolvers<void>();
  const addCalled = Promise.withResolvers<void>();
  const inner = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  const slow: EventStore = {
    ...inner,
    add: async (events) => {
      addCalled.resolve();
      await release.promise;
      return inner.add(events);
    },
  };
  const h = harness("summary", { store: slow });
  let answered = false;
  const pending = h.fetch(track(sampleEvent(1))).then((res) => {
    answered = true;
    return res;
  });
  await addCalled.promise;
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(answered, false, "no answer while the store has not recorded");
  release.resolve();
  const res = await pending;
  assertEquals(res.status, 200);
  await res.body?.cancel();
  assertEquals(inner.total(), 1);

  const failing: EventStore = {
    ...inner,
    add: () => Promise.reject(new Error("disk full")),
  };
  const f = harness("summary", { store: failing });
  const failed = await f.fetch(track(sampleEvent(2), "&verbose=1"));
  assertEquals(failed.status, 503);
  const answer = await failed.json();
  assertEquals(answer.status, 0);
  assertMatch(
    answer.error,
    /^event not recorded: the receiver's store is failing/,
  );
  assertEquals(f.rejected, ["store_failed"]);
  assertEquals(f.accepted, []);
});

Deno.test("a hook that throws does not turn a recorded event into a failure", async () => {
  const h = harness("summary", {
    onAccepted: () => {
      throw new Error("hook bug");
    },
  });
  const res = await h.fetch(track(sampleEvent(1), "&verbose=1"));
  assertEquals(await res.text(), VERBOSE_OK);
  assertEquals(h.store.total(), 1);
});

Deno.test("/events in the three record levels", async () => {
  for (const level of ["none", "summary", "all"] as const) {
    const h = harness(level);
    for (let i = 0; i < 3; i++) {
      const res = await h.fetch(track(sampleEvent(i)));
      assertEquals(res.status, 200);
      await res.body?.cancel();
    }
    const res = await h.fetch("/events");
    assertEquals(res.status, 200);
    assertMatch(res.headers.get("content-type")!, /^application\/json/);
    const body = await res.json();
    if (level === "none") assertEquals(body, []);
    if (level === "summary") assertEquals(body, [{ totalEvents: 3 }]);
    if (level === "all") {
      assertEquals(body, [sampleEvent(0), sampleEvent(1), sampleEvent(2)]);
    }
  }
});

Deno.test("/events?limit=N gives the newest N; a bad limit is a 400", async () => {
  const h = harness("all");
  for (let i = 0; i < 5; i++) {
    (await h.fetch(track(sampleEvent(i)))).body?.cancel();
  }
  let res = await h.fetch("/events?limit=2");
  assertEquals(await res.json(), [sampleEvent(3), sampleEvent(4)]);
  res = await h.fetch(
    `/events?distinct_id=${sampleEvent(0).properties.distinct_id}&limit=1`,
  );
  assertEquals(await res.json(), [sampleEvent(4)]);
  for (const bad of ["0", "-1", "two", "1.5", ""]) {
    res = await h.fetch(`/events?limit=${bad}`);
    assertEquals(res.status, 400, bad);
    assertEquals(await res.text(), "limit must be a positive whole number\n");
  }
});

Deno.test("/healthz reports the level and the store's counts", async () => {
  const h = harness("all");
  (await h.fetch(track(sampleEvent(1)))).body?.cancel();
  const res = await h.fetch("/healthz");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    status: "ok",
    recordLevel: "all",
    totalEvents: 1,
    storedEvents: 1,
    droppedEvents: 0,
    duplicateEvents: 0,
    maxEvents: 100,
  });
  const missing = await h.fetch("/nothing-here");
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("a refused request is logged without its payload", async () => {
  const lines: string[] = [];
  setupLogging({ level: "debug", format: "text", write: (l) => lines.push(l) });
  try {
    const h = harness();
    const secret = "db.internal.corp-" + "x".repeat(100_000);
    const res = await h.fetch("/track", {
      method: "POST",
      body: JSON.stringify({ event: "x", properties: { token: secret } }),
    });
    assertEquals(res.status, 400);
    await res.body?.cancel();
    const refused = lines.filter((l) => l.includes("refused"));
    assertEquals(refused.length, 1, lines.join(""));
    assert(!refused[0].includes("db.internal.corp"), refused[0]);
    assert(refused[0].length < 500, `log line of ${refused[0].length} chars`);
  } finally {
    setupLogging({ level: "fatal", format: "text", write: () => {} });
  }
});
