// The receiver's server over loopback (server.ts with the app's routes): the
// bound port, a body on its way at shutdown awaited and new requests 503
// meanwhile, the grace period cutting a shutdown short, a body that drips
// answered 408, a streamed answer given up when its client stops reading,
// connections closed at HEADER_TIMEOUT and IDLE_TIMEOUT, and MAX_CONNECTIONS.

import { PINNED_DENO_VERSION } from "../src/receive/serve/runtime_check.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "./assert.ts";
import { startReceiverServer } from "../src/receive/serve/mod.ts";
import { denoConnectionServer } from "../src/receive/serve/deno_connection.ts";
import { readUntilClosed } from "./fixtures/raw_http.ts";
import { BodyBudget, readBody } from "../src/receive/ingest/mod.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import { logger } from "../src/log/setup.ts";
import { answerStream } from "../src/receive/serve/stream.ts";
import { sampleEvent, utf8 } from "./receive_sample.ts";

const VERBOSE_OK = '{"status":1,"error":""}';

/** Reads what arrives on `conn` until it closes, or `ms` pass. */
async function readFor(conn: Deno.Conn, ms: number): Promise<string> {
  const timer = setTimeout(() => conn.close(), ms);
  const text = await readUntilClosed(conn);
  clearTimeout(timer);
  try {
    conn.close();
  } catch {
    // already closed
  }
  return text;
}

type ServerOptions = Parameters<typeof startReceiverServer>[0];

/** The receiver's server for `app` on a free loopback port. */
function serveOnLoopback(
  app: ServerOptions["app"],
  bodies: BodyBudget,
  options: Partial<ServerOptions> = {},
) {
  return startReceiverServer({
    hostname: "127.0.0.1",
    port: 0,
    app,
    bodies,
    ...options,
  });
}

function receiver(bodyTimeoutMs = 10_000) {
  const store = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  return createReceiver({
    store,
    recordLevel: "summary",
    logger: logger("receive", "test"),
    bodyTimeoutMs,
  });
}

Deno.test("port 0 binds a free port; an idle server shuts down at once", async () => {
  const { app, bodies } = receiver();
  const server = serveOnLoopback(app, bodies);
  assertEquals(server.url, `http://127.0.0.1:${server.port}`);
  const res = await fetch(`${server.url}/healthz`);
  assertEquals((await res.json()).status, "ok");
  assertEquals(await server.shutdown(1000), true);
  await server.finished;
});

Deno.test("shutdown: the body on its way is awaited and answered, new requests get 503 meanwhile, then nobody listens", async () => {
  const { app, bodies } = receiver();
  const server = serveOnLoopback(app, bodies);
  const body = utf8(JSON.stringify(sampleEvent(1)));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(utf8(
    `POST /track?verbose=1 HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`,
  ));
  await conn.write(body.subarray(0, 10));
  while (bodies.reading === 0) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const stopped = server.shutdown(5000);
  const late = await fetch(`${server.url}/healthz`);
  assertEquals(late.status, 503);
  assertEquals(late.headers.get("connection"), "close");
  assertStringIncludes(await late.text(), "shutting down");

  await conn.write(body.subarray(10));
  const answer = await readFor(conn, 5000);
  assertMatch(answer, /^HTTP\/1\.1 200 OK\r\n/);
  assert(answer.endsWith(VERBOSE_OK), answer);
  assertEquals(await stopped, true);
  await server.finished;
  const refused = await fetch(`${server.url}/healthz`).catch((err) => err);
  assert(refused instanceof TypeError, String(refused));
});

Deno.test("bodies that come after their head, of known length or chunked, are read to their end and answered at once", async () => {
  const { app, bodies } = receiver();
  const server = serveOnLoopback(app, bodies);
  const event = utf8(JSON.stringify(sampleEvent(1)));
  const chunk = (
    bytes: Uint8Array,
  ) => [utf8(`${bytes.length.toString(16)}\r\n`), bytes, utf8("\r\n")];
  const cases: Array<[string, string, Uint8Array[]]> = [
    ["known length", `Content-Length: ${event.length}`, [
      event.subarray(0, 5),
      event.subarray(5),
    ]],
    ["chunked", "Transfer-Encoding: chunked", [
      ...chunk(event.subarray(0, 3)),
      ...chunk(event.subarray(3)),
      utf8("0\r\n\r\n"),
    ]],
  ];
  for (const [name, framing, pieces] of cases) {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    const started = Date.now();
    await conn.write(utf8(
      `POST /track?verbose=1 HTTP/1.1\r\nHost: x\r\n${framing}\r\nConnection: close\r\n\r\n`,
    ));
    for (const piece of pieces) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await conn.write(piece);
    }
    const answer = await readFor(conn, 5000);
    const ms = Date.now() - started;
    assertMatch(answer, /^HTTP\/1\.1 200 OK\r\n/, name);
    assert(answer.endsWith(VERBOSE_OK), name);
    assert(ms < 2000, `${name}: answered and closed after ${ms} ms`);
  }
  assertEquals(bodies.bytes, 0);
  assertEquals(await server.shutdown(1000), true);
  await server.finished;
});

Deno.test("shutdown gives up at the grace period when a body never arrives", async () => {
  const bodies = new BodyBudget(1 << 20);
  // No deadline of its own: only the grace period ends the wait.
  const app = {
    fetch: async (req: Request) => {
      const read = await readBody(req, {
        budget: bodies,
        maxBytes: 1000,
        timeoutMs: 60_000,
      });
      if (read.ok) bodies.release(read.reserved);
      return new Response(read.ok ? "read" : "cut");
    },
  };
  const server = serveOnLoopback(app, bodies);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(
    utf8("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"),
  );
  while (bodies.reading === 0) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const started = Date.now();
  assertEquals(await server.shutdown(300), false);
  const ms = Date.now() - started;
  assert(ms >= 290 && ms < 2000, `${ms} ms`);
  conn.close();
  await server.finished;
});

Deno.test("a body that drips is answered 408 with Connection: close at BODY_TIMEOUT, and its connection closed", async () => {
  const { app, bodies, counters } = receiver(300);
  const server = serveOnLoopback(app, bodies);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const started = Date.now();
  await conn.write(utf8(
    "POST /track?verbose=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
  ));
  const drip = setInterval(() => conn.write(utf8("a")).catch(() => {}), 50);
  const buf = new Uint8Array(4096);
  let answer = "";
  while (!answer.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    answer += new TextDecoder().decode(buf.subarray(0, n));
  }
  const ms = Date.now() - started;
  // As its answer says, the connection is closed, though the client drips on.
  await readFor(conn, 2000);
  const closedMs = Date.now() - started - ms;
  clearInterval(drip);
  assert(closedMs < 1000, `closed ${closedMs} ms after the answer`);
  assertMatch(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assertMatch(answer, /\r\nconnection: close\r\n/i);
  assert(ms >= 290 && ms < 3000, `${ms} ms`);
  assertEquals(counters.rejected.body_timeout, 1);
  assertEquals([bodies.bytes, bodies.reading], [0, 0]);
  assertEquals(await server.shutdown(2000), true);
  await server.finished;
});

Deno.test("a streamed answer its client stops reading is given up and its connection closed; not an error", async () => {
  const bodies = new BodyBudget(1 << 20);
  let abandoned = 0;
  let made = 0;
  const errors: unknown[] = [];
  function* huge() {
    for (let i = 0; i < 100_000; i++) {
      made++;
      yield "x".repeat(10_000);
    }
  }
  const server = startReceiverServer({
    hostname: "127.0.0.1",
    port: 0,
    bodies,
    app: {
      fetch: () =>
        new Response(
          answerStream(huge(), {
            idleMs: 300,
            onAbandoned: () => abandoned++,
          }),
        ),
    },
    onError: (err) => errors.push(err),
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(utf8("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Read nothing for a while: the socket's buffers fill, then the answer stops.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const text = await readFor(conn, 10_000);
  assertEquals(abandoned, 1);
  assertEquals(errors, []);
  assert(!text.endsWith("0\r\n\r\n"), "the answer did not end normally");
  assert(made < 100_000, `${made} chunks made`);
  assert(text.length < 100_000 * 10_000);
  assertEquals(await server.shutdown(2000), true);
  await server.finished;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that connects, sends `first`, then `piece` every `everyMs` until closed. */
async function client(
  port: number,
  first: string,
  piece = "",
  everyMs = 100,
) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const started = Date.now();
  if (first !== "") await conn.write(utf8(first));
  const drip = piece === "" ? undefined : setInterval(
    () => conn.write(utf8(piece)).catch(() => {}),
    everyMs,
  );
  // Reads until the server closes the connection (or 10 s pass).
  const text = await readFor(conn, 10_000);
  clearInterval(drip);
  return { text, ms: Date.now() - started };
}

Deno.test("HEADER_TIMEOUT closes a new connection that sends no head, part of one, or one a byte at a time; IDLE_TIMEOUT a kept-alive one after its answer; others are served meanwhile", async () => {
  const { app, bodies, counters } = receiver();
  const server = serveOnLoopback(app, bodies, {
    headerTimeoutMs: 300,
    idleTimeoutMs: 600,
  });
  counters.connections = server.connections;
  const slow = [
    client(server.port, ""),
    client(server.port, "POST /track HTTP/1.1\r\nHost: x\r\n"),
    client(server.port, "GET /healthz", "a", 50),
  ];
  const keptAlive = client(
    server.port,
    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const res = await fetch(`${server.url}/healthz`);
  assertEquals(res.status, 200, "served while clients are slow");
  await res.body?.cancel();

  for (const { text, ms } of await Promise.all(slow)) {
    assertEquals(text, "", "closed without an answer");
    assert(ms >= 290 && ms < 2000, `closed after ${ms} ms`);
  }
  const kept = await keptAlive;
  assertMatch(kept.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert(kept.ms >= 590 && kept.ms < 2500, `closed after ${kept.ms} ms`);
  const stats = server.connections();
  assertEquals(stats.closed.header_timeout, 3);
  assert(stats.closed.idle_timeout >= 1, JSON.stringify(stats));
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assertMatch(
    metrics,
    /\nhodometer_receiver_connections_timed_out_total\{reason="header_timeout"\} 3\n/,
  );
  assertEquals(await server.shutdown(2000), true);
  await server.finished;
});

Deno.test("a kept-alive connection sending its next request within IDLE_TIMEOUT is served on it; an answer that takes longer than both deadlines is not cut", async () => {
  const bodies = new BodyBudget(1 << 20);
  /** Six pieces, one every 100 ms: 600 ms in all. */
  const slowAnswer = () => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(100);
        controller.enqueue(utf8(`piece ${sent}\n`));
        if (++sent === 6) controller.close();
      },
    });
  };
  const server = serveOnLoopback(
    {
      fetch: (req) =>
        new Response(
          new URL(req.url).pathname === "/slow" ? slowAnswer() : "ok",
        ),
    },
    bodies,
    { headerTimeoutMs: 200, idleTimeoutMs: 200 },
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const buf = new Uint8Array(16 * 1024);
  const readUntil = async (end: string) => {
    let text = "";
    while (!text.endsWith(end)) {
      const n = await conn.read(buf);
      if (n === null) throw new Error(`closed after ${JSON.stringify(text)}`);
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  };
  for (let i = 0; i < 3; i++) {
    await conn.write(utf8("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
    assertMatch(await readUntil("ok"), /^HTTP\/1\.1 200 OK\r\n/);
    await sleep(100);
  }
  const started = Date.now();
  await conn.write(utf8("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  const text = await readUntil("0\r\n\r\n");
  const ms = Date.now() - started;
  assert(ms > 500, `the answer took ${ms} ms`);
  assertStringIncludes(text, "piece 5\n");
  conn.close();
  assertEquals(server.connections().closed, {
    header_timeout: 0,
    idle_timeout: 0,
  });
  assertEquals(await server.shutdown(2000), true);
  await server.finished;
});

Deno.test("MAX_CONNECTIONS: past it the connection silent longest is closed to make room; 503 only when every one has a request in flight", async () => {
  const { app, bodies } = receiver();
  const server = serveOnLoopback(app, bodies, {
    maxConnections: 2,
    headerTimeoutMs: 60_000,
  });
  const connect = () =>
    Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const silent = await connect();
  while (server.connections().open < 1) await sleep(10);
  await sleep(50);
  const later = await connect();
  while (server.connections().open < 2) await sleep(10);

  // A third: the first silent one makes room, and the newcomer is served.
  const newcomer = await connect();
  assertEquals(await readFor(silent, 5000), "", "closed without an answer");
  await newcomer.write(utf8("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const buf = new Uint8Array(4096);
  const n = await newcomer.read(buf);
  assertMatch(
    new TextDecoder().decode(buf.subarray(0, n ?? 0)),
    /^HTTP\/1\.1 200 /,
  );
  assertEquals(server.connections().evicted, 1);
  assertEquals(server.connections().refused, 0);

  // Both open ones with a request in flight (a body on its way): refused.
  const head = "POST /track HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n";
  await later.write(utf8(head));
  await newcomer.write(utf8(head));
  await sleep(100);
  const refused = await readFor(await connect(), 5000);
  assertMatch(refused, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assertMatch(refused, /\r\nconnection: close\r\n/);
  assertStringIncludes(refused, "too many connections");
  assertEquals(server.connections().refused, 1);
  assertEquals(server.connections().evicted, 1);
  later.close();
  newcomer.close();
  assertEquals(await server.shutdown(2000), true);
  await server.finished;
});

Deno.test("shutdown closes connections waiting for a head at once, without waiting for their timeouts", async () => {
  const { app, bodies } = receiver();
  const server = serveOnLoopback(app, bodies, {
    headerTimeoutMs: 60_000,
    idleTimeoutMs: 60_000,
  });
  const waiting = [
    client(server.port, ""),
    client(server.port, "GET /healthz HTTP/1.1\r\n", "a", 50),
    client(server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
  ];
  while (server.connections().open < 3) await sleep(10);
  await sleep(100);
  const started = Date.now();
  assertEquals(await server.shutdown(5000), true);
  await server.finished;
  assert(Date.now() - started < 1000, `${Date.now() - started} ms`);
  const ends = await Promise.all(waiting);
  assert(ends.every((e) => e.ms < 3000), JSON.stringify(ends));
});

Deno.test("the pinned Deno has the per-connection server the receiver needs; a runtime without it gets an error saying so (and is served by Deno.serve: receive_listen_test.ts)", () => {
  assertEquals(typeof denoConnectionServer(), "function");
  for (const internals of [{}, { serveHttpOnConnection: 1 }]) {
    const missing = denoConnectionServer(internals);
    assert(missing instanceof Error);
    assertStringIncludes(missing.message, "serveHttpOnConnection");
    assertStringIncludes(
      missing.message,
      `built with (${PINNED_DENO_VERSION})`,
    );
  }
});
