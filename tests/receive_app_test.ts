// The receiver's routes through handle(), without sockets: answers of the
// reference and of Mixpanel (strict, /import, /engage), decompression within
// the limit, the store's failures, /events pages, the read token and accepted
// project tokens, and what is logged.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  captured,
  nth,
} from "./assert.ts";
import {
  createReceiverApp,
  ingestionRoute,
  type ReceiverAppOptions,
} from "../src/receive/app.ts";
import { PLAIN_OK, VERBOSE_OK } from "../src/receive/answers.ts";
import {
  type AcceptedEvent,
  EVENT_LIMITS,
  type RejectKind,
} from "../src/receive/event/mod.ts";
import {
  createMemoryStore,
  type EventStore,
  type MemoryStore,
} from "../src/receive/store/mod.ts";
import type { RecordLevel } from "../src/config/levels.ts";
import { logger, setupLogging } from "../src/log/setup.ts";
import { encodeEventData } from "../src/publish/event.ts";
import { call } from "./fixtures/receiver_call.ts";
import {
  gzip,
  REFERENCE_DATA,
  sampleEvent,
  storedEvents,
  utf8,
} from "./receive_sample.ts";
import { MiB } from "../src/runtime/units.ts";

interface Harness {
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  store: MemoryStore;
  accepted: AcceptedEvent[][];
  rejected: RejectKind[];
}

function harness(
  level: RecordLevel = "all",
  over: Partial<ReceiverAppOptions> = {},
): Harness {
  const store = createMemoryStore({
    recordLevel: level,
    maxEvents: over.store ? 1 : 1000,
  });
  const accepted: AcceptedEvent[][] = [];
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
    fetch: (path, init) => call(app, path, init),
    store,
    accepted,
    rejected,
  };
}

const track = (event: unknown, extra = "") =>
  `/track?data=${encodeURIComponent(encodeEventData(event as never))}${extra}`;
const postJson = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers },
});
const events = (body: Array<{ event: string; properties: unknown }>) =>
  body.map(({ event, properties }) => ({ event, properties }));

Deno.test("the reference publish is accepted with the reference's verbose answer", async () => {
  const h = harness("all");
  const res = await h.fetch(`/track?data=${REFERENCE_DATA}&verbose=1`);
  assertEquals(res.status, 200);
  assertEquals(await res.text(), VERBOSE_OK);
  assertEquals(VERBOSE_OK, '{"status":1,"error":""}');
  assertEquals(res.headers.get("content-type"), "text/plain; charset=utf-8");
  const event = nth(storedEvents(h.store), 0);
  assertEquals(event.properties.$insert_id, "1795544503881249561");
  assertEquals(h.accepted.length, 1);
  // Sent again (the same $insert_id): the same answer, nothing recorded twice.
  const again = await h.fetch(`/track?data=${REFERENCE_DATA}&verbose=1`);
  assertEquals(await again.text(), VERBOSE_OK);
  assertEquals(h.store.total(), 1);
});

Deno.test("without verbose a success is 200 with Mixpanel's body 1 for Mixpanel's shape, on any method and with a trailing slash", async () => {
  const h = harness("summary");
  for (const [i, method] of ["GET", "POST", "PUT"].entries()) {
    const res = await h.fetch(track(sampleEvent(i)), { method });
    assertEquals(res.status, 200, method);
    assertEquals(await res.text(), PLAIN_OK);
  }
  const form = await h.fetch("/track/", {
    method: "POST",
    body: `data=${encodeURIComponent(encodeEventData(sampleEvent(10)))}`,
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assertEquals([form.status, await form.text()], [200, PLAIN_OK]);
  assertEquals(h.store.total(), 4);
});

Deno.test("without verbose a bare JSON body is answered as Seldon's Go receiver answers it: 200, empty", async () => {
  const h = harness("summary");
  for (
    const type of ["application/json", "application/x-www-form-urlencoded"]
  ) {
    const res = await h.fetch("/track", {
      method: "POST",
      body: JSON.stringify(sampleEvent(type.length)),
      headers: { "content-type": type },
    });
    assertEquals([res.status, await res.text()], [200, ""], type);
    assertEquals(res.headers.get("content-type"), null, "none, as Go's");
  }
  const batch = await h.fetch(
    "/track/",
    postJson([sampleEvent(1), sampleEvent(2)]),
  );
  assertEquals([batch.status, await batch.text()], [200, ""]);
  const verbose = await h.fetch("/track?verbose=1", postJson(sampleEvent(3)));
  assertEquals(await verbose.text(), VERBOSE_OK);
  assertEquals(h.store.total(), 5);
});

Deno.test("only /track and /import as clients spell them skip Hono's routing", () => {
  const route = (method: string, path: string) =>
    ingestionRoute(method, `http://receiver.test${path}`);
  for (const method of ["GET", "POST"]) {
    for (const path of ["/track", "/track/", "/track?data=x", "/track/?a=1"]) {
      assertEquals(route(method, path), "/track", `${method} ${path}`);
    }
    assertEquals(route(method, "/import?strict=1"), "/import");
  }
  for (
    const [method, path] of [
      ["HEAD", "/track"],
      ["PUT", "/track"],
      ["GET", "/trackx"],
      ["GET", "/track/x"],
      ["GET", "/track//"],
      ["GET", "//track"],
      ["GET", "/tr%61ck"],
      ["GET", "/imports"],
      ["GET", "/"],
    ]
  ) {
    assertEquals(route(method!, path!), null, `${method} ${path}`);
  }
  assertEquals(ingestionRoute("GET", "no path at all"), null);
});

Deno.test("/track is answered alike whether it skips Hono's routing or not", async () => {
  const h = harness("summary");
  const spellings = ["/track", "/track/", "/tr%61ck", "/%74rack/"];
  for (const [i, path] of spellings.entries()) {
    for (const method of ["GET", "PUT"]) {
      const data = encodeURIComponent(
        encodeEventData(sampleEvent(i * 2 + (method === "PUT" ? 1 : 0))),
      );
      const res = await h.fetch(`${path}?data=${data}&verbose=1`, { method });
      assertEquals(
        [res.status, res.headers.get("content-type"), await res.text()],
        [200, "text/plain; charset=utf-8", VERBOSE_OK],
        `${method} ${path}`,
      );
    }
  }
  assertEquals(h.store.total(), spellings.length * 2);
  for (const path of ["/trackx", "/track/x"]) {
    const res = await h.fetch(track(sampleEvent(99)).replace("/track", path));
    assertEquals(res.status, 404, path);
    await res.body?.cancel();
  }
  assertEquals(h.store.total(), spellings.length * 2);
});

Deno.test("a route that throws is answered 500 and reported, whichever way it was routed", async () => {
  const errors: unknown[] = [];
  // A fault inside the decoding, where no route expects one.
  const limits = { ...EVENT_LIMITS };
  Object.defineProperty(limits, "maxEventChars", {
    get: () => {
      throw new Error("limits unavailable");
    },
  });
  const h = harness("summary", {
    limits,
    onError: (err) => errors.push(err),
  });
  const cases: Array<[string, RequestInit | undefined]> = [
    [`/track?data=${REFERENCE_DATA}`, undefined], // answered without a promise
    ["/track", postJson(sampleEvent(1))], // a body: answered by a promise
    [`/tr%61ck?data=${REFERENCE_DATA}`, undefined], // routed by Hono
  ];
  for (const [path, init] of cases) {
    const res = await h.fetch(path, init);
    assertEquals([res.status, await res.text()], [500, "internal error\n"]);
  }
  assertEquals(errors.length, cases.length);
  assertEquals(h.store.total(), 0);
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

  res = await h.fetch(
    "/track?verbose=1",
    postJson({ event: "foo", properties: {} }),
  );
  assertEquals(res.status, 400);
  assertEquals(await res.json(), {
    status: 0,
    error: "unable to interpret request as an event: " +
      "required fields not provided: token, distinct_id",
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

  const batch = Array.from({ length: 99 }, (_, i) => sampleEvent(i + 10));
  res = await h.fetch("/track", postJson(batch));
  assertEquals(res.status, 200);
  assertEquals(h.store.total(), 100);

  const broken = [sampleEvent(3000), sampleEvent(3001), { event: "x" }];
  res = await h.fetch("/track", postJson(broken));
  assertEquals(res.status, 400);
  assertStringIncludes(await res.text(), "event 2 of the batch");
  assertEquals(h.store.total(), 100, "nothing of a refused batch recorded");
});

Deno.test("without time and $insert_id (as the official libraries send /track), and with milliseconds", async () => {
  const h = harness("all");
  const bare = {
    event: "Signed Up",
    properties: { token: "t", distinct_id: "u1" },
  };
  for (let i = 0; i < 2; i++) {
    const res = await h.fetch(track(bare, "&verbose=1"));
    assertEquals(await res.text(), VERBOSE_OK);
  }
  const ms = sampleEvent(5, { time: 1795544503123 });
  assertEquals((await h.fetch(track(ms))).status, 200);
  // No $insert_id: nothing to de-duplicate against, both kept, as sent.
  assertEquals(events(storedEvents(h.store)), [bare, bare, ms]);
  assertEquals(nth(nth(h.accepted, 2), 0).time, 1795544503.123);
});

Deno.test("strict=1 answers as Mixpanel does: what was imported, and each failed record", async () => {
  const h = harness("all");
  let res = await h.fetch("/track?strict=1", postJson([sampleEvent(1)]));
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "application/json");
  assertEquals(await res.json(), {
    code: 200,
    num_records_imported: 1,
    status: "OK",
  });
  res = await h.fetch(
    "/track?strict=1",
    postJson([
      sampleEvent(2),
      {
        event: "x",
        properties: { token: "t", distinct_id: "d", time: "noon" },
      },
      sampleEvent(3, { $insert_id: "not valid!" }),
    ]),
  );
  assertEquals(res.status, 400);
  assertEquals(await res.json(), {
    code: 400,
    error: "some data points in the request failed validation",
    status: "Bad Request",
    num_records_imported: 1,
    failed_records: [
      {
        index: 1,
        insert_id: "",
        field: "properties.time",
        message:
          "time must be seconds or milliseconds since the epoch, not string",
      },
      {
        index: 2,
        insert_id: "",
        field: "properties.$insert_id",
        message:
          "$insert_id must be 1 to 36 characters of letters, digits and -",
      },
    ],
  });
  // The valid events of a strict request are recorded (Mixpanel's partial success).
  assertEquals(
    storedEvents(h.store).map((e) => e.properties.$insert_id),
    ["insert-1", "insert-2"],
  );
  res = await h.fetch("/track?strict=1", postJson("nothing"));
  assertEquals(res.status, 400);
  assertEquals((await res.json()).status, "Bad Request");
});

Deno.test("/import: JSON and NDJSON bodies, gzip, the token from basic auth; the old data form answers as /track", async () => {
  const h = harness("all");
  const { token: _, ...noToken } = sampleEvent(1).properties;
  let res = await h.fetch(
    "/import",
    postJson([{ event: "collect metrics", properties: noToken }], {
      authorization: `Basic ${btoa("project-token:")}`,
    }),
  );
  assertEquals(await res.json(), {
    code: 200,
    num_records_imported: 1,
    status: "OK",
  });
  assertEquals(nth(storedEvents(h.store), 0).properties.token, "project-token");

  const ndjson = [2, 3].map((i) => JSON.stringify(sampleEvent(i))).join("\n");
  res = await h.fetch("/import?strict=1", {
    method: "POST",
    body: await gzip(utf8(ndjson)) as BufferSource,
    headers: {
      "content-type": "application/x-ndjson",
      "content-encoding": "gzip",
    },
  });
  assertEquals((await res.json()).num_records_imported, 2);

  // As the official Node.js library imports: data=..., answered "1".
  res = await h.fetch(
    `/import?ip=0&verbose=0&data=${
      encodeURIComponent(encodeEventData(sampleEvent(4)))
    }`,
  );
  assertEquals([res.status, await res.text()], [200, "1"]);
  res = await h.fetch("/import", postJson({ event: "x" }));
  assertEquals(res.status, 400);
  assertEquals(
    (await res.json()).failed_records[0].message,
    "required fields not provided: properties",
  );
  assertEquals(h.store.total(), 4);
});

Deno.test("/engage and /groups get a clear JSON answer that profiles are not recorded", async () => {
  const h = harness("all");
  for (const route of ["/engage", "/groups"]) {
    const res = await h.fetch(`${route}?data=e30=`);
    assertEquals(res.status, 400);
    const answer = await res.json();
    assertEquals(answer.status, 0);
    assertMatch(answer.error, /profiles are not recorded by this receiver/);
  }
  assertEquals(h.rejected, ["not_recorded", "not_recorded"]);
  assertEquals(h.store.total(), 0);
});

Deno.test("accepted project tokens: another token gets 401, in each answer shape, and nothing is recorded", async () => {
  const h = harness("all", { acceptedTokens: new Set(["ours"]) });
  const ours = sampleEvent(1, { token: "ours" });
  const theirs = sampleEvent(2, { token: "theirs" });
  let res = await h.fetch(track(ours, "&verbose=1"));
  assertEquals(await res.text(), VERBOSE_OK);
  res = await h.fetch(track(theirs, "&verbose=1"));
  assertEquals(res.status, 401);
  assertEquals(await res.json(), {
    status: 0,
    error: "invalid project token: this receiver does not accept it",
  });
  res = await h.fetch("/track", postJson([ours, theirs]));
  assertEquals(res.status, 401, "one foreign event refuses the request");
  res = await h.fetch("/import", postJson([theirs]));
  assertEquals(res.status, 401);
  // Mixpanel's answer for bad credentials on /import.
  assertEquals(await res.json(), {
    code: 401,
    error: "Invalid credentials",
    status: "Unauthorized",
  });
  assertEquals(events(storedEvents(h.store)), [ours]);
  assertEquals(h.rejected, ["invalid_token", "invalid_token", "invalid_token"]);
});

Deno.test("the read token guards /events, /metrics and the page; /healthz stays open but says little", async () => {
  const h = harness("all", {
    readToken: "s3cret",
    metrics: () => new Response("# metrics\n"),
    overview: () => new Response("<html></html>"),
  });
  (await h.fetch(track(sampleEvent(1)))).body?.cancel();
  for (const path of ["/events", "/metrics", "/"]) {
    const open = await h.fetch(path);
    assertEquals(open.status, 401, path);
    assertMatch(open.headers.get("www-authenticate")!, /^Basic realm=/);
    assert(!(await open.text()).includes("s3cret"));
    for (
      const authorization of [
        "Bearer wrong",
        "Bearer s3cre",
        `Basic ${btoa("me:wrong")}`,
        "s3cret",
      ]
    ) {
      const res = await h.fetch(path, { headers: { authorization } });
      assertEquals(res.status, 401, `${path} ${authorization}`);
      await res.body?.cancel();
    }
    for (
      const authorization of ["Bearer s3cret", `Basic ${btoa("anyone:s3cret")}`]
    ) {
      const res = await h.fetch(path, { headers: { authorization } });
      assertEquals(res.status, 200, `${path} ${authorization}`);
      await res.body?.cancel();
    }
  }
  assertEquals(await (await h.fetch("/healthz")).json(), { status: "ok" });
  const full = await (await h.fetch("/healthz", {
    headers: { authorization: "Bearer s3cret" },
  })).json();
  assertEquals(full.totalEvents, 1);
  // Events still come in without it.
  assertEquals((await h.fetch(track(sampleEvent(2)))).status, 200);
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
  assertEquals(storedEvents(h.store), [sampleEvent(1)]);

  // 64 MiB of spaces compress to about 64 KiB.
  const bomb = await gzip(new Uint8Array(64 * MiB).fill(0x20));
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
  // deflate, with and without the zlib wrapper.
  const zlib = await import("node:zlib");
  for (const deflated of [zlib.deflateSync, zlib.deflateRawSync]) {
    res = await h.fetch("/track", {
      method: "POST",
      body: deflated(utf8(JSON.stringify(sampleEvent(2)))) as BufferSource,
      headers: { "content-encoding": "deflate" },
    });
    assertEquals(res.status, 200);
    await res.body?.cancel();
  }

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
  assertEquals(h.store.total(), 2);
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
  assertEquals(failed.headers.get("retry-after"), "5");
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

Deno.test("/events in the three record levels, each event with its receipt time", async () => {
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
      assertEquals(events(body), [0, 1, 2].map((i) => sampleEvent(i)));
      for (const e of body) {
        assert(Math.abs(Date.parse(e.received_at) - Date.now()) < 60_000);
      }
    }
  }
});

Deno.test("/events pages: a default and a maximum size, a cursor in the Link header; bad values are a 400", async () => {
  const h = harness("all");
  await h.fetch(
    "/track",
    postJson(Array.from({ length: 250 }, (_, i) => sampleEvent(i))),
  );
  const seen: unknown[] = [];
  let next: string | null = "/events";
  let pages = 0;
  while (next !== null) {
    const res: Response = await h.fetch(next);
    const page = await res.json();
    assert(page.length <= 100, `${page.length} events on a page`);
    seen.push(
      ...page.map((e: { properties: { $insert_id: string } }) =>
        e.properties.$insert_id
      ),
    );
    const link = res.headers.get("link");
    next = link === null ? null : captured(/^<([^>]+)>; rel="next"$/, link);
    pages++;
  }
  assertEquals(pages, 3);
  assertEquals(seen, Array.from({ length: 250 }, (_, i) => `insert-${i}`));
  let res = await h.fetch("/events?limit=2&cursor=247");
  assertEquals(
    (await res.json()).map((e: { properties: { model_count: number } }) =>
      e.properties.model_count
    ),
    [247, 248],
  );
  assertEquals(res.headers.get("x-next-cursor"), "249");
  res = await h.fetch("/events?limit=1000");
  assertEquals((await res.json()).length, 250);
  assertEquals(res.headers.get("link"), null);
  for (const bad of ["0", "-1", "two", "1.5", "", "1001"]) {
    res = await h.fetch(`/events?limit=${bad}`);
    assertEquals(res.status, 400, bad);
    assertEquals(
      await res.text(),
      "limit must be a whole number from 1 to 1000\n",
    );
  }
  res = await h.fetch("/events?cursor=x");
  assertEquals(res.status, 400);
  await res.body?.cancel();
  res = await h.fetch("/events", { method: "POST" });
  assertEquals(res.status, 405);
  await res.body?.cancel();
});

Deno.test("/healthz reports the level and the store's counts", async () => {
  const h = harness("all");
  (await h.fetch(track(sampleEvent(1)))).body?.cancel();
  const res = await h.fetch("/healthz");
  assertEquals(res.status, 200);
  const health = await res.json();
  assertEquals(
    [
      health.status,
      health.recordLevel,
      health.totalEvents,
      health.storedEvents,
    ],
    ["ok", "all", 1, 1],
  );
  const missing = await h.fetch("/nothing-here");
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("a refused request is logged without its payload, escaped, and refusals are rate-limited", async () => {
  const lines: string[] = [];
  setupLogging({ level: "debug", format: "text", write: (l) => lines.push(l) });
  try {
    let clock = 0;
    const h = harness("all", { now: () => clock });
    const secret = "db.internal.corp-" + "x".repeat(100_000);
    const res = await h.fetch(
      "/track",
      postJson({ event: "x", properties: { token: secret } }),
    );
    assertEquals(res.status, 400);
    await res.body?.cancel();
    const refused = lines.filter((l) => l.includes("refused"));
    assertEquals(refused.length, 1, lines.join(""));
    assert(!nth(refused, 0).includes("db.internal.corp"), refused[0]);
    assert(
      nth(refused, 0).length < 500,
      `log line of ${nth(refused, 0).length} chars`,
    );

    lines.length = 0;
    for (let i = 0; i < 50; i++) (await h.fetch("/track")).body?.cancel();
    assertEquals(lines.filter((l) => l.includes("refused")).length, 9);
    clock += 10_000;
    (await h.fetch("/track")).body?.cancel();
    const last = lines.filter((l) => l.includes("refused")).at(-1)!;
    assertStringIncludes(last, "(and 41 more not logged)");
  } finally {
    setupLogging({ level: "fatal", format: "text", write: () => {} });
  }
});
