// The parts the receiver's routes are made of, each alone: Mixpanel's answers,
// the refusal log, the ingestion route's pieces, the read token, /events'
// query, the app's middleware (Hono's secure headers, 405 before 401), and
// the shutdown deadline.

import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import {
  accepted,
  failedRecords,
  partlyAccepted,
  PLAIN_OK,
  refusal,
  VERBOSE_OK,
} from "../src/receive/answers.ts";
import { RefusalLog } from "../src/receive/refusal_log.ts";
import {
  Ingestion,
  type IngestionOptions,
  invalidBatch,
  loggedHealth,
  queryOf,
  shapeOf,
} from "../src/receive/ingest_route.ts";
import {
  basicUser,
  presentsToken,
  unauthorized,
} from "../src/receive/read_token.ts";
import {
  EVENTS_PAGE,
  EVENTS_PAGE_MAX,
  isJsonObject,
  listEvents,
  pageQuery,
} from "../src/receive/events_route.ts";
import {
  createReceiverApp,
  type ReceiverAppOptions,
} from "../src/receive/app.ts";
import { settledWithin } from "../src/receive/serve/settled_within.ts";
import { BodyBudget, type Checked } from "../src/receive/ingest/mod.ts";
import { EVENT_LIMITS, type Rejection } from "../src/receive/event/mod.ts";
import {
  type AddResult,
  createMemoryStore,
  type EventStore,
  StoreBusyError,
  StoreHealth,
} from "../src/receive/store/mod.ts";
import { PAGE_CSP } from "../src/receive/views/mod.ts";
import { logger } from "../src/log/setup.ts";
import { encodeEventData } from "../src/publish/event.ts";
import { call } from "./fixtures/receiver_call.ts";
import { linesLogger } from "./fixtures/log_lines.ts";
import { sampleEvent } from "./receive_sample.ts";

const req = (path: string, init?: RequestInit) =>
  new Request(`http://receiver.test${path}`, init);

const BAD: Rejection = {
  status: 400,
  kind: "invalid_event",
  message: "bad event",
};

// ------------------------------------------------------------ answers

Deno.test("answers: the reference's success bodies, shared copies each a Response of its own", async () => {
  const plain = { verbose: false, strict: false };
  const [a, b] = [accepted(plain, 1), accepted(plain, 1)];
  assert(a !== b, "a Response of its own for each request");
  assertEquals([await a.text(), await b.text()], [PLAIN_OK, PLAIN_OK]);
  assertEquals(a.headers.get("content-type"), "text/plain; charset=utf-8");
  const verbose = accepted({ verbose: true, strict: false }, 1);
  assertEquals(await verbose.text(), VERBOSE_OK);
  const strict = accepted({ verbose: false, strict: true }, 3);
  assertEquals(await strict.json(), {
    code: 200,
    num_records_imported: 3,
    status: "OK",
  });
});

Deno.test("answers: a refusal in each shape, with Retry-After when the store fails and Connection: close when the body was not read", async () => {
  const plain = refusal(BAD, { verbose: false, strict: false });
  assertEquals([plain.status, await plain.text()], [400, "bad event\n"]);
  assertEquals(plain.headers.get("x-content-type-options"), "nosniff");
  assertEquals(plain.headers.get("connection"), null);
  const verbose = refusal(BAD, { verbose: true, strict: false });
  assertEquals(await verbose.json(), { status: 0, error: "bad event" });
  const token: Rejection = {
    status: 401,
    kind: "invalid_token",
    message: "no",
  };
  const strict = refusal(token, { verbose: false, strict: true });
  assertEquals(await strict.json(), {
    code: 401,
    error: "Invalid credentials",
    status: "Unauthorized",
  });
  const failing = refusal(
    { status: 503, kind: "store_failed", message: "later" },
    { verbose: false, strict: false },
  );
  assertEquals(failing.headers.get("retry-after"), "5");
  for (const kind of ["body_timeout", "busy", "too_large"] as const) {
    const r = refusal({ status: 413, kind, message: "x" }, {
      verbose: false,
      strict: false,
    });
    assertEquals(r.headers.get("connection"), "close", kind);
  }
});

Deno.test("answers: a strict request's failures, each record by its place in the batch", async () => {
  const checked: Checked[] = [
    { ok: true, event: {} as never },
    {
      ok: false,
      insertId: "i-1",
      problems: [
        { field: "properties.time", message: "not a time" },
        { field: "event", message: "empty" },
      ],
    },
    { ok: false, problems: [{ field: "properties", message: "missing" }] },
  ] as Checked[];
  assertEquals(failedRecords(checked), [
    {
      index: 1,
      insert_id: "i-1",
      field: "properties.time",
      message: "not a time",
    },
    { index: 1, insert_id: "i-1", field: "event", message: "empty" },
    { index: 2, insert_id: "", field: "properties", message: "missing" },
  ]);
  const answer = partlyAccepted(checked, 1);
  assertEquals(answer.status, 400);
  const body = await answer.json();
  assertEquals(body.num_records_imported, 1);
  assertEquals(body.failed_records.length, 3);
});

// ------------------------------------------------------------ refusal log

Deno.test("refusal log: a few lines per window, the rest counted and said in the next line", () => {
  const { log, lines } = linesLogger();
  let clock = 0;
  const refusals = new RefusalLog(log, () => clock, {
    lines: 2,
    windowMs: 1000,
  });
  for (let i = 0; i < 5; i++) refusals.refused("POST", "/track", BAD);
  assertEquals(lines, [
    "info refused POST /track: 400 bad event",
    "info refused POST /track: 400 bad event",
  ]);
  clock = 1000;
  refusals.refused("GET", "/import", BAD);
  assertEquals(
    nth(lines, 2),
    "info refused GET /import: 400 bad event (and 3 more not logged)",
  );
  refusals.refused("GET", "/import", BAD);
  assertEquals(nth(lines, 3), "info refused GET /import: 400 bad event");
});

Deno.test("refusal log: a client's method and message are cut short", () => {
  const { log, lines } = linesLogger();
  new RefusalLog(log, () => 0).refused("X".repeat(100), "/track", {
    ...BAD,
    message: "m".repeat(1000),
  });
  const line = nth(lines, 0);
  assert(line.length < 400, line);
  assert(!line.includes("X".repeat(21)), line);
});

// ------------------------------------------------------------ ingestion

Deno.test("ingestion: the answer's shape from the query, /import strict unless used the old way", () => {
  const shape = (path: string, route: "/track" | "/import", type?: string) =>
    shapeOf(
      req(path, type ? { headers: { "content-type": type } } : undefined),
      route,
    );
  assertEquals(shape("/track", "/track"), {
    verbose: false,
    strict: false,
    data: null,
  });
  assertEquals(shape("/track?verbose=1x&data=abc", "/track"), {
    verbose: true,
    strict: false,
    data: "abc",
  });
  assertEquals(shape("/track?strict=1", "/track").strict, true);
  assertEquals(shape("/import", "/import").strict, true);
  assertEquals(shape("/import?strict=0", "/import").strict, false);
  assertEquals(shape("/import?data=x", "/import").strict, false);
  assertEquals(
    shape("/import", "/import", "application/x-www-form-urlencoded").strict,
    false,
  );
  assertEquals(queryOf("http://h/track?a=1#frag"), "a=1");
  assertEquals(queryOf("http://h/track"), "");
});

Deno.test("ingestion: an invalid batch names its first invalid event", () => {
  const one = invalidBatch([
    { ok: false, problems: [{ field: "event", message: "empty" }] },
  ] as Checked[]);
  assertEquals(one.status, 400);
  assert(!one.message.includes("of the batch"), one.message);
  const many = invalidBatch([
    { ok: true, event: {} as never },
    { ok: false, problems: [{ field: "event", message: "empty" }] },
  ] as Checked[]);
  assertMatch(many.message, /^.*event 1 of the batch \(counting from 0\)/);
  assertMatch(many.message, /no event of this batch was recorded$/);
});

/** Ingestion into `store`, with what it tells recorded. */
function ingestion(store: EventStore, over: Partial<IngestionOptions> = {}) {
  const { log, lines } = linesLogger();
  const told: string[] = [];
  const health = new StoreHealth({ now: () => 0 });
  const ingest = new Ingestion({
    store,
    limits: EVENT_LIMITS,
    bodies: {
      budget: new BodyBudget(1024 * 1024),
      maxBytes: 64 * 1024,
      timeoutMs: 1000,
    },
    acceptedTokens: null,
    retentionMs: 0,
    now: () => 1_800_000_000_000,
    health: loggedHealth(health, log),
    refusals: new RefusalLog(log, () => 0),
    onAccepted: (events) => told.push(`accepted ${events.length}`),
    onRejected: (kind) => told.push(`rejected ${kind}`),
    ...over,
  });
  return { ingest, lines, told, health };
}

const trackOf = (n: number) =>
  req(`/track?data=${encodeURIComponent(encodeEventData(sampleEvent(n)))}`);

Deno.test("ingestion: an event in the query is answered without a promise when the store writes at once", async () => {
  const store = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  const { ingest, told } = ingestion(store);
  const answer = ingest.handle(trackOf(1), "/track");
  assert(answer instanceof Response, "answered at once");
  assertEquals(await answer.text(), PLAIN_OK);
  assertEquals(told, ["accepted 1"]);
  assertEquals(store.total(), 1);
});

Deno.test("ingestion: a failing store is 503 and said once; a busy one is refused, not failing", async () => {
  const failing = {
    add(): AddResult {
      throw new Error("disk full");
    },
  } as unknown as EventStore;
  const f = ingestion(failing);
  const answer = await f.ingest.handle(trackOf(1), "/track");
  assertEquals(answer.status, 503);
  assertEquals(f.told, ["rejected store_failed"]);
  assertEquals(f.health.status().ok, false);
  assert(f.lines.some((l) => /^error .*disk full/.test(l)), f.lines.join());

  const busy = {
    add: () => Promise.reject(new StoreBusyError("1000 events")),
  } as unknown as EventStore;
  const b = ingestion(busy);
  const late = b.ingest.handle(trackOf(2), "/track");
  assert(late instanceof Promise, "the store made it wait");
  assertEquals((await late).status, 503);
  assertEquals(b.health.status().ok, true);
  assertEquals(b.told, ["rejected store_failed"]);
});

Deno.test("ingestion: a token not accepted refuses the whole request", async () => {
  const store = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  const { ingest, told } = ingestion(store, {
    acceptedTokens: new Set(["only-this"]),
  });
  const answer = await ingest.handle(trackOf(1), "/track");
  assertEquals(answer.status, 401);
  assertEquals(told, ["rejected invalid_token"]);
  assertEquals(store.total(), 0);
});

// ------------------------------------------------------------ read token

Deno.test("read token: as a bearer token or a Basic password under any user, compared whole", () => {
  const auth = (value: string) =>
    req("/", { headers: { authorization: value } });
  const basic = (pair: string) =>
    `Basic ${new TextEncoder().encode(pair).toBase64()}`;
  const token = "s3cret: with spaces & ünïcode";
  assert(presentsToken(auth(`Bearer ${token}`), token));
  assert(presentsToken(auth(`bearer   ${token}  `), token));
  assert(presentsToken(auth(basic(`anyone:${token}`)), token));
  assert(presentsToken(auth(basic(`:${token}`)), token));
  assert(!presentsToken(req("/"), token));
  assert(!presentsToken(auth(`Bearer ${token}x`), token));
  assert(!presentsToken(auth(`Bearer ${token.slice(0, -1)}`), token));
  assert(!presentsToken(auth(basic(`${token}:`)), token), "not the user");
  assert(!presentsToken(auth("Basic not base64!"), token));
  assertEquals(basicUser(auth(basic("project-token:"))), "project-token");
  assertEquals(basicUser(auth(basic(":password"))), undefined);
  assertEquals(basicUser(req("/")), undefined);
});

Deno.test("read token: the refusal says how to present it", async () => {
  const answer = unauthorized();
  assertEquals(answer.status, 401);
  assertMatch(answer.headers.get("www-authenticate") ?? "", /^Basic realm=/);
  assertMatch(await answer.text(), /Authorization: Bearer <token>/);
});

// ------------------------------------------------------------ /events

Deno.test("/events: the page a query asks for, and what is wrong with one", () => {
  assertEquals(pageQuery(""), {
    ok: true,
    after: 0,
    limit: EVENTS_PAGE,
    distinctId: undefined,
  });
  assertEquals(pageQuery("cursor=7&limit=3&distinct_id=a%20b"), {
    ok: true,
    after: 7,
    limit: 3,
    distinctId: "a b",
  });
  for (const bad of ["limit=0", `limit=${EVENTS_PAGE_MAX + 1}`, "limit=x"]) {
    const page = pageQuery(bad);
    assert(!page.ok && page.problem.startsWith("limit must be"), bad);
  }
  const cursor = pageQuery("cursor=-1");
  assert(!cursor.ok && cursor.problem.startsWith("cursor must be"));
  assert(isJsonObject('{"a":1}'));
  assert(!isJsonObject("[1]"));
  assert(!isJsonObject("{broken"));
  assert(isJsonObject(`{"a":"${"x".repeat(70 * 1024)}"}`));
});

Deno.test("/events: at none nothing, at summary the count, without reading rows", async () => {
  const store = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  const unused = () => {
    throw new Error("not streamed at this level");
  };
  assertEquals(await listEvents("none", store, "", unused).json(), []);
  assertEquals(await listEvents("summary", store, "", unused).json(), [{
    totalEvents: 0,
  }]);
});

// ------------------------------------------------------------ the app's middleware

/** An app at record level all whose read token is "t". */
const appWithToken = (over: Partial<ReceiverAppOptions> = {}) =>
  createReceiverApp({
    store: createMemoryStore({ recordLevel: "all", maxEvents: 10 }),
    recordLevel: "all",
    logger: logger("receive", "test"),
    readToken: "t",
    ...over,
  });

Deno.test("app: the read side's answers carry Hono's secure headers with the pages' policy; ingestion's do not", async () => {
  const app = appWithToken();
  for (const path of ["/healthz", "/events"]) {
    const res = await call(app, path, {
      headers: { authorization: "Bearer t" },
    });
    await res.body?.cancel();
    assertEquals(res.status, 200, path);
    assertEquals(res.headers.get("content-security-policy"), PAGE_CSP, path);
    assertEquals(res.headers.get("x-frame-options"), "DENY", path);
    assertEquals(res.headers.get("x-content-type-options"), "nosniff", path);
    assertEquals(res.headers.get("referrer-policy"), "no-referrer", path);
    assertEquals(res.headers.get("strict-transport-security"), null, path);
  }
  const tracked = await call(
    app,
    `/track?data=${encodeURIComponent(encodeEventData(sampleEvent(1)))}`,
  );
  assertEquals(await tracked.text(), PLAIN_OK);
  assertEquals([...tracked.headers.keys()], ["content-type"]);
});

Deno.test("app: a method other than GET and HEAD is 405 before the read token is asked for", async () => {
  const app = appWithToken({ metrics: () => new Response("m") });
  for (const path of ["/events", "/metrics", "/healthz"]) {
    const res = await call(app, path, { method: "POST" });
    assertEquals(res.status, 405, path);
    assertEquals(res.headers.get("allow"), "GET, HEAD");
    const open = await call(app, path, { method: "HEAD" });
    assertEquals(open.status, path === "/healthz" ? 200 : 401, path);
  }
  // A read route not configured is not found, whatever the method.
  assertEquals((await call(app, "/")).status, 404);
  assertEquals((await call(app, "/clusters/x")).status, 404);
});

// ------------------------------------------------------------ shutdown deadline

Deno.test("settledWithin: true when the work ends in time, false when the time ends first, the work's error as is", async () => {
  assertEquals(await settledWithin(Promise.resolve(), 1000), true);
  const never = new Promise<void>(() => {});
  assertEquals(await settledWithin(never, 10), false);
  assertEquals(await settledWithin(never, -5), false);
  let error: unknown;
  try {
    await settledWithin(Promise.reject(new Error("broke")), 1000);
  } catch (e) {
    error = e;
  }
  assertEquals((error as Error).message, "broke");
});
