// Go-receiver parity for plain clients, and the receiver on another runtime:
// with no listen address it answers on IPv4 and IPv6 (Go listens on :8001),
// also where the kernel keeps them apart or has no IPv6; `curl -d` with a raw
// JSON event is accepted as Go accepts it; a runtime without the internal
// per-connection server is served by Deno.serve, with one warning saying
// what is lost; another runtime version than the pinned one is warned about.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "./assert.ts";
import { shippedRunArgs } from "../scripts/permissions.ts";
import { denoCommand } from "../scripts/runtime_env.ts";
import { HERMETIC_ENV } from "./fixtures/hodometer_process.ts";
import {
  type Bind,
  EVERY_INTERFACE,
  listen,
} from "../src/receive/serve/listen.ts";
import { startReceiverServer } from "../src/receive/serve/mod.ts";
import { FALLBACK_LOSES } from "../src/receive/serve/serve_fallback.ts";
import {
  PINNED_DENO_VERSION,
  runtimeWarning,
} from "../src/receive/serve/runtime_check.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import { logger } from "../src/log/setup.ts";
import { sampleEvent } from "./receive_sample.ts";

/** Whether this host can listen on IPv6 loopback. */
function hasIpv6(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

async function answers(hostname: string, port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

function closeAll(listeners: Deno.TcpListener[]) {
  for (const l of listeners) l.close();
}

Deno.test({
  name:
    "the default address listens on IPv4 and IPv6 with one socket where the kernel maps IPv4 onto IPv6",
  ignore: !hasIpv6(),
  async fn() {
    const { listeners, note } = listen(EVERY_INTERFACE, 0);
    try {
      assertEquals(note, null);
      const port = listeners[0]!.addr.port;
      assert(await answers("127.0.0.1", port), "IPv4");
      assert(await answers("::1", port), "IPv6");
    } finally {
      closeAll(listeners);
    }
  },
});

Deno.test({
  name:
    "where the kernel keeps IPv6 sockets to IPv6 (bindv6only), a second socket serves IPv4 on the same port",
  ignore: !hasIpv6(),
  async fn() {
    // "::" as an IPv6-only socket, "0.0.0.0" as one of its own (on loopback).
    const v6only: Bind = (hostname, port) =>
      Deno.listen({
        hostname: hostname === "::" ? "::1" : "127.0.0.1",
        port,
      });
    const { listeners } = listen(EVERY_INTERFACE, 0, v6only);
    try {
      assertEquals(listeners.length, 2);
      const port = listeners[0]!.addr.port;
      assertEquals(listeners[1]!.addr.port, port);
      assert(await answers("127.0.0.1", port), "IPv4");
      assert(await answers("::1", port), "IPv6");
    } finally {
      closeAll(listeners);
    }
  },
});

Deno.test("a host without IPv6 listens on IPv4, and says so", async () => {
  const noIpv6: Bind = (hostname, port) => {
    if (hostname.includes(":")) {
      throw new Deno.errors.AddrNotAvailable(
        "Cannot assign requested address (os error 99)",
      );
    }
    return Deno.listen({ hostname: "127.0.0.1", port });
  };
  const { listeners, note } = listen(EVERY_INTERFACE, 0, noIpv6);
  try {
    assertEquals(listeners.length, 1);
    assertMatch(
      note ?? "",
      /IPv6 is not available on this host .*IPv4 interface only/,
    );
    assert(await answers("127.0.0.1", listeners[0]!.addr.port));
  } finally {
    closeAll(listeners);
  }
});

Deno.test("a port taken is still an error, not a fallback to IPv4", () => {
  const taken = Deno.listen({ hostname: "::", port: 0 });
  try {
    let error: unknown;
    try {
      closeAll(listen(EVERY_INTERFACE, taken.addr.port).listeners);
    } catch (err) {
      error = err;
    }
    assert(error instanceof Deno.errors.AddrInUse, String(error));
  } finally {
    taken.close();
  }
});

Deno.test({
  name:
    "as shipped, with no listen address: 127.0.0.1 and [::1] both answer; curl -d with a raw JSON event is accepted as by Go's receiver",
  ignore: !hasIpv6(),
  async fn() {
    const child = denoCommand({
      args: [...shippedRunArgs(), "receive", "--listen-port", "0"],
      env: { ...HERMETIC_ENV, LISTEN_HOST: "" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let logs = "";
    try {
      let found: string | undefined;
      while (found === undefined) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`exited before listening:\n${logs}`);
        logs += value;
        found = /listening on http:\/\/\[::\]:(\d+)/.exec(logs)?.[1];
      }
      const port: string = found;
      for (const host of ["127.0.0.1", "[::1]"]) {
        const url = `http://${host}:${port}`;
        const health = await fetch(`${url}/healthz`);
        assertEquals(health.status, 200, host);
        await health.body?.cancel();
        // What `curl -d '{"event":…}' URL/track` sends.
        const res = await fetch(`${url}/track`, {
          method: "POST",
          body: JSON.stringify(sampleEvent(host.length)),
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
        // Go's receiver answers it 200 with an empty body.
        assertEquals([res.status, await res.text()], [200, ""], host);
      }
      const events = await (await fetch(`http://127.0.0.1:${port}/events`))
        .json();
      assertEquals(events, [{ totalEvents: 2 }]);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
    }
    assert(!logs.includes("0.0.0.0"), logs);
  },
});

Deno.test("--help says what the default listen address serves", async () => {
  const out = await denoCommand({
    args: [...shippedRunArgs(), "receive", "--help"],
    env: { ...HERMETIC_ENV, COLUMNS: "200" },
    stdout: "piped",
  }).output();
  const help = new TextDecoder().decode(out.stdout).replace(/\s+/g, " ");
  assertStringIncludes(help, "every interface, IPv4 and IPv6");
});

Deno.test("a runtime without the per-connection server is served by Deno.serve, with one warning naming what is lost", async () => {
  const store = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  const { app, bodies } = createReceiver({
    store,
    recordLevel: "summary",
    logger: logger("receive", "test"),
  });
  const server = startReceiverServer({
    hostname: "127.0.0.1",
    port: 0,
    app,
    bodies,
    internals: {}, // a runtime that lacks serveHttpOnConnection
  });
  try {
    assert(server.fallback !== null);
    assertStringIncludes(server.fallback, "serveHttpOnConnection");
    assertStringIncludes(server.fallback, "Deno.serve");
    assertStringIncludes(server.fallback, FALLBACK_LOSES);
    assertMatch(
      FALLBACK_LOSES,
      /HEADER_TIMEOUT.*IDLE_TIMEOUT.*MAX_CONNECTIONS/,
    );
    const res = await fetch(`${server.url}/track`, {
      method: "POST",
      body: JSON.stringify(sampleEvent(1)),
    });
    assertEquals(res.status, 200);
    await res.body?.cancel();
    assertEquals(store.total(), 1);
  } finally {
    assertEquals(await server.shutdown(2000), true);
    await server.finished;
  }
});

Deno.test("the pinned runtime gets no warning; another version one naming both", () => {
  const pinned = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ).denoVersion;
  assertEquals(PINNED_DENO_VERSION, pinned, "one with deno.json");
  assertEquals(runtimeWarning(pinned), null);
  assertEquals(runtimeWarning(Deno.version.deno), null, "this one is pinned");
  const other = runtimeWarning("2.10.0");
  assert(other !== null);
  assertStringIncludes(other, "2.10.0");
  assertStringIncludes(other, pinned);
});
