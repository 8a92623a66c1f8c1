// The receiver's HTTP/1.1 server over loopback: framing (keep-alive,
// pipelining, chunked bodies, 100-continue, HEAD, HTTP/1.0), what it refuses
// (ambiguous lengths, malformed heads, bodies over the limit, too many
// connections, a full in-flight budget), its timeouts (head, body, idle, an
// answer nobody reads) and its shutdown within a grace period.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  type HttpHandler,
  type HttpServerOptions,
  parseHead,
  Refusal,
  startHttpServer,
} from "../src/receive/http1.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const echo: HttpHandler = (req) => ({
  status: 200,
  headers: { "content-type": "text/plain" },
  body: `${req.method} ${req.path}?${req.query} ${req.body.length} ${
    dec.decode(req.body.subarray(0, 20))
  }`,
});

function serve(over: Partial<HttpServerOptions> = {}) {
  return startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    handler: echo,
    sweepEveryMs: 20,
    ...over,
  });
}

async function connect(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let buffered = "";
  const buf = new Uint8Array(64 * 1024);
  return {
    conn,
    send: (text: string | Uint8Array) =>
      conn.write(typeof text === "string" ? enc.encode(text) : text),
    /** Reads until `pattern` matches what came (or the server closes). */
    async until(pattern: RegExp, timeoutMs = 5000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(buffered)) {
        if (Date.now() > deadline) throw new Error(`timeout: ${buffered}`);
        const n = await conn.read(buf);
        if (n === null) break;
        buffered += dec.decode(buf.subarray(0, n));
      }
      const out = buffered;
      buffered = "";
      return out;
    },
    /** Resolves with what came once the server closes; ms it took. */
    async closed(timeoutMs = 5000): Promise<{ text: string; ms: number }> {
      const started = Date.now();
      const timer = setTimeout(() => conn.close(), timeoutMs);
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          buffered += dec.decode(buf.subarray(0, n));
        }
      } catch {
        // reset
      } finally {
        clearTimeout(timer);
      }
      return { text: buffered, ms: Date.now() - started };
    },
    close: () => {
      try {
        conn.close();
      } catch {
        // closed already
      }
    },
  };
}

const GET = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

Deno.test("keep-alive and pipelining: requests on one connection are answered in order", async () => {
  const server = serve();
  const c = await connect(server.port);
  try {
    await c.send(
      GET("/a?x=1") + GET("/b") +
        "POST /c HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    );
    const text = await c.until(/POST \/c\? 5 hello/);
    const statuses = text.match(/HTTP\/1\.1 200 OK/g) ?? [];
    assertEquals(statuses.length, 3);
    assert(text.indexOf("GET /a?x=1") < text.indexOf("GET /b?"));
    assert(!/connection: close/i.test(text));
    // Blank lines before a request line are skipped.
    await c.send("\r\n\r\n" + GET("/d", "Connection: close\r\n"));
    const last = await c.closed();
    assertMatch(last.text, /connection: close\r\n/);
    assertMatch(last.text, /GET \/d\? 0/);
  } finally {
    c.close();
    await server.shutdown(1000);
  }
});

Deno.test("chunked bodies, 100-continue, HEAD and HTTP/1.0", async () => {
  const server = serve();
  try {
    let c = await connect(server.port);
    await c.send(
      "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
    );
    assertMatch(await c.until(/hello world/), /POST \/up\? 11 hello world/);
    await c.send(
      "POST /e HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    );
    assertMatch(await c.until(/100 Continue\r\n\r\n/), /^HTTP\/1\.1 100/);
    await c.send("abc");
    assertMatch(await c.until(/abc/), /POST \/e\? 3 abc/);
    await c.send("HEAD /h HTTP/1.1\r\n\r\n" + GET("/after"));
    const both = await c.until(/GET \/after/);
    assertMatch(both, /content-length: \d+\r\n\r\nHTTP\/1\.1 200/);
    c.close();

    c = await connect(server.port);
    await c.send("GET /old HTTP/1.0\r\n\r\n");
    const old = await c.closed();
    assertMatch(old.text, /^HTTP\/1\.1 200 OK\r\n/);
    assertMatch(old.text, /connection: close/);
    c.close();
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("a streamed answer is sent chunked; a handler that throws is a 500", async () => {
  const errors: unknown[] = [];
  const server = serve({
    onError: (e) => errors.push(e),
    handler: (req) => {
      if (req.path === "/boom") throw new Error("bug");
      return {
        status: 200,
        body: (function* () {
          yield "ab";
          yield "";
          yield enc.encode("cde");
        })(),
      };
    },
  });
  try {
    const res = await fetch(`${server.url}/stream`);
    assertEquals(res.headers.get("transfer-encoding"), "chunked");
    assertEquals(await res.text(), "abcde");
    const boom = await fetch(`${server.url}/boom`);
    assertEquals([boom.status, await boom.text()], [500, "internal error\n"]);
    assertEquals(errors.length, 1);
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("ambiguous or malformed requests are refused with 400 and the connection closed", async () => {
  const server = serve();
  const cases = [
    "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
    "GET / HTTP/1.1\r\nBad Name: a\r\n\r\n",
    "GET  / HTTP/1.1\r\n\r\n",
    "G\u00c9T / HTTP/1.1\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "GET /\u00e9 HTTP/1.1\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  ];
  try {
    for (const raw of cases) {
      const c = await connect(server.port);
      await c.send(raw);
      const { text } = await c.closed();
      assertMatch(text, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(raw));
      c.close();
    }
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("parseHead: the target's path and query, absolute form, header joining", () => {
  const head = parseHead(
    "GET http://example.test/track/?data=x#frag HTTP/1.1\r\nA: 1\r\nA: 2\r\nHost: h",
  );
  assert(!(head instanceof Refusal));
  assertEquals([head.path, head.query], ["/track/", "data=x"]);
  assertEquals(head.headers.get("a"), "1, 2");
  assertEquals(head.keepAlive, true);
  const star = parseHead("OPTIONS * HTTP/1.1");
  assert(star instanceof Refusal);
});

Deno.test("bodies over the limit: 413 by Content-Length before reading, or while a chunked body streams", async () => {
  const server = serve({ maxBodyBytes: 1000 });
  try {
    let c = await connect(server.port);
    await c.send("POST / HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n");
    await c.send(new Uint8Array(64 * 1024)); // the client keeps sending
    const big = await c.closed();
    assertMatch(big.text, /^HTTP\/1\.1 413 Content Too Large\r\n/);
    assertMatch(big.text, /the body is over 1000 bytes/);
    c.close();

    c = await connect(server.port);
    await c.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (let i = 0; i < 3; i++) await c.send(`1f4\r\n${"x".repeat(500)}\r\n`);
    assertMatch((await c.closed()).text, /^HTTP\/1\.1 413/);
    c.close();

    // Exactly at the limit is fine.
    const res = await fetch(server.url, {
      method: "POST",
      body: "y".repeat(1000),
    });
    assertMatch(await res.text(), /POST \/\? 1000 y/);
    // A head over the limit is a 431.
    c = await connect(server.port);
    await c.send(GET("/", `X: ${"z".repeat(40_000)}\r\n`));
    assertMatch((await c.closed()).text, /^HTTP\/1\.1 431/);
    c.close();
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("slow clients are timed out: a dripped head, a stalled body, an idle connection", async () => {
  const server = serve({
    headerTimeoutMs: 300,
    bodyTimeoutMs: 300,
    idleTimeoutMs: 200,
  });
  try {
    const drip = await connect(server.port);
    await drip.send("GET / HTTP/1.1\r\n");
    const dripping = setInterval(
      () => drip.send("X-Drip: 1\r\n").catch(() => {}),
      50,
    );
    const head = await drip.closed();
    clearInterval(dripping);
    assertMatch(head.text, /^HTTP\/1\.1 408 Request Timeout/);
    assert(head.ms < 1500, `closed after ${head.ms} ms`);
    drip.close();

    const stall = await connect(server.port);
    await stall.send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    const body = await stall.closed();
    assertMatch(body.text, /^HTTP\/1\.1 408/);
    assert(body.ms < 1500, `closed after ${body.ms} ms`);
    stall.close();

    const idle = await connect(server.port);
    await idle.send(GET("/"));
    await idle.until(/GET \/\? 0/);
    const quiet = await idle.closed();
    assertEquals(quiet.text, "");
    assert(quiet.ms < 1500, `closed after ${quiet.ms} ms`);
    idle.close();

    // A connection that never says anything is idle too.
    const silent = await connect(server.port);
    assert((await silent.closed()).ms < 1500);
    silent.close();
    const closed = server.stats().closed;
    assertEquals(closed.header_timeout, 1);
    assertEquals(closed.body_timeout, 1);
    assertEquals(closed.idle_timeout, 2);
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("too many connections are answered 503; bodies beyond the in-flight budget too", async () => {
  const server = serve({ maxConnections: 2, maxInFlightBytes: 150 });
  const held = [await connect(server.port), await connect(server.port)];
  try {
    await held[0].send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n");
    await held[1].send(GET("/"));
    await held[1].until(/GET/);
    const third = await connect(server.port);
    assertMatch(
      (await third.closed()).text,
      /^HTTP\/1\.1 503 .*\r\n[\s\S]*too many connections/,
    );
    third.close();
    held[1].close();
    await new Promise((r) => setTimeout(r, 50));
    // 100 bytes are reserved by the first; another 100 do not fit in 150.
    const over = await connect(server.port);
    await over.send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n");
    assertMatch((await over.closed()).text, /^HTTP\/1\.1 503[\s\S]*busy/);
    over.close();
    await held[0].send("x".repeat(100));
    assertMatch(await held[0].until(/POST \/\? 100/), /200 OK/);
    assertEquals(server.stats().inFlightBytes, 0);
    assertEquals(server.stats().closed.too_many_connections, 1);
  } finally {
    for (const c of held) c.close();
    await server.shutdown(1000);
  }
});

Deno.test("shutdown: idle connections closed, the request in flight finished, new ones 503, stragglers cut at the grace period", async () => {
  const release = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  const server = serve({
    handler: async (req) => {
      if (req.path === "/slow") {
        started.resolve();
        await release.promise;
      }
      return echo(req);
    },
  });
  const idle = await connect(server.port);
  const slow = await connect(server.port);
  const straggler = await connect(server.port);
  try {
    await idle.send(GET("/"));
    await idle.until(/GET \/\? 0/);
    await slow.send(GET("/slow"));
    await started.promise;
    await straggler.send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab");
    await new Promise((r) => setTimeout(r, 50));

    const t0 = Date.now();
    const stopping = server.shutdown(800);
    assertEquals((await idle.closed()).text, "", "idle: closed at once");
    // No new connections.
    await Deno.connect({ hostname: "127.0.0.1", port: server.port }).then(
      (c) => {
        c.close();
        throw new Error("still accepting");
      },
      () => {},
    );
    release.resolve();
    const answered = await slow.closed();
    assertMatch(
      answered.text,
      /200 OK[\s\S]*connection: close[\s\S]*GET \/slow/,
    );
    // The straggler never finishes its body: cut at the grace period.
    await straggler.send("cd");
    await stopping;
    const ms = Date.now() - t0;
    assert(ms >= 700 && ms < 2000, `shutdown took ${ms} ms`);
    assertEquals(server.stats().connections, 0);
  } finally {
    for (const c of [idle, slow, straggler]) c.close();
  }
});

Deno.test("shutdown: a request whose head arrives while stopping is answered 503", async () => {
  const server = serve();
  const c = await connect(server.port);
  try {
    await c.send("GET / HTTP/1.1\r\n");
    await new Promise((r) => setTimeout(r, 50));
    const stopping = server.shutdown(2000);
    await c.send("Host: x\r\n\r\n");
    const { text } = await c.closed();
    assertMatch(
      text,
      /^HTTP\/1\.1 503[\s\S]*connection: close[\s\S]*shutting down/,
    );
    await stopping;
  } finally {
    c.close();
  }
});

Deno.test("an answer the client stops reading is abandoned after the body timeout", async () => {
  const piece = "x".repeat(1024 * 1024);
  const server = serve({
    bodyTimeoutMs: 300,
    handler: () => ({
      status: 200,
      body: (function* () {
        for (let i = 0; i < 256; i++) yield piece; // far more than socket buffers hold
      })(),
    }),
  });
  const c = await connect(server.port);
  try {
    await c.send(GET("/big"));
    const started = Date.now();
    while (server.stats().closed.write_timeout === 0) {
      assert(Date.now() - started < 5000, "the write never timed out");
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(server.stats().connections, 0);
  } finally {
    c.close();
    await server.shutdown(1000);
  }
});
