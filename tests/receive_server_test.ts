// startReceiver on loopback: the bound port and the graceful stop.

import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { startReceiver } from "../src/receive/server.ts";
import { utf8 } from "./receive_sample.ts";

Deno.test("port 0 binds a free port and reports it", async () => {
  const server = startReceiver({
    hostname: "127.0.0.1",
    port: 0,
    app: { fetch: () => new Response("hi") },
  });
  try {
    assertEquals(server.url, `http://127.0.0.1:${server.port}`);
    const res = await fetch(`${server.url}/`);
    assertEquals(await res.text(), "hi");
  } finally {
    await server.shutdown();
  }
});

Deno.test("shutdown answers the request in flight and refuses new ones meanwhile", async () => {
  const entered = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const server = startReceiver({
    hostname: "127.0.0.1",
    port: 0,
    app: {
      fetch: async (req) => {
        if (new URL(req.url).pathname === "/slow") {
          entered.resolve();
          await release.promise;
          return new Response(`finished after ${await req.text()}`);
        }
        return new Response("fast");
      },
    },
  });
  const slow = fetch(`${server.url}/slow`, { method: "POST", body: "body" });
  await entered.promise;
  const stopped = server.shutdown();
  const late = await fetch(`${server.url}/other`);
  assertEquals(late.status, 503);
  assertStringIncludes(await late.text(), "shutting down");
  release.resolve();
  const res = await slow;
  assertEquals(res.status, 200);
  assertEquals(await res.text(), "finished after body");
  await stopped;
  await server.finished;
});

Deno.test("a client that stalls its upload cannot hold the shutdown past drainTimeoutMs", async () => {
  const entered = Promise.withResolvers<void>();
  const server = startReceiver({
    hostname: "127.0.0.1",
    port: 0,
    drainTimeoutMs: 50,
    app: {
      fetch: async (req) => {
        entered.resolve();
        try {
          return new Response(await req.text());
        } catch {
          return new Response("body cut off\n", { status: 400 });
        }
      },
    },
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(utf8(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part",
    ));
    await entered.promise;
    await server.shutdown();
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    assertMatch(
      new TextDecoder().decode(buf.subarray(0, n ?? 0)),
      /^HTTP\/1\.1 400 .*\r\n\r\nbody cut off\n$/s,
    );
  } finally {
    conn.close();
  }
  await server.finished;
});
