// The small fetch client's edges: response cap, network errors, credentials.

import { assertEquals, assertMatch } from "./assert.ts";
import { withKubeDouble } from "./fixtures/kube_double.ts";
import { httpKubeClient, type KubeClient } from "../src/kube/client.ts";
import { REFUSING_PORT } from "./fixtures/refused.ts";

function clientFor(
  server: string,
  caPem: string,
  extra: Partial<Parameters<typeof httpKubeClient>[0]> = {},
): KubeClient {
  return httpKubeClient({
    mode: "in-cluster",
    server,
    httpClient: Deno.createHttpClient({ caCerts: [caPem] }),
    timeoutMs: 2_000,
    credentials: () =>
      Promise.resolve({ headers: { authorization: "Bearer token-1" } }),
    ...extra,
  });
}

Deno.test("client: a response over the cap is refused without being kept", async () => {
  await withKubeDouble(async (h) => {
    h.double.nodeNames = Array.from({ length: 50 }, (_, i) => `node-${i}`);
    const client = clientFor(h.double.url, h.double.caPem);
    try {
      const res = await client.request({
        path: "/api/v1/nodes",
        maxBytes: 256,
      });
      assertEquals(res.ok, false);
      if (!res.ok) {
        assertEquals(res.failure, "too large");
        assertMatch(
          res.message,
          /GET \/api\/v1\/nodes: the answer is larger than 256 bytes/,
        );
      }
      const small = await client.request({ path: "/version" });
      assertEquals(small.ok, true);
    } finally {
      client.close();
    }
  });
});

Deno.test("client: an unreachable server and failing credentials are values", async () => {
  await withKubeDouble(async (h) => {
    const port = REFUSING_PORT;
    const unreachable = clientFor(`https://127.0.0.1:${port}`, h.double.caPem);
    try {
      const res = await unreachable.request({ path: "/version" });
      assertEquals(res.ok ? "ok" : res.failure, "network");
    } finally {
      unreachable.close();
    }
    const noToken = clientFor(h.double.url, h.double.caPem, {
      credentials: () =>
        Promise.resolve(new Error("/var/run/secrets/token does not exist")),
    });
    try {
      const res = await noToken.request({ path: "/version" });
      assertEquals(res, {
        ok: false,
        failure: "credentials",
        message: "/var/run/secrets/token does not exist",
      });
      assertEquals(h.double.requests.length, 0);
    } finally {
      noToken.close();
    }
  });
});

Deno.test("client: a server certificate from another CA is refused", async () => {
  await withKubeDouble(async (h) => {
    await withKubeDouble(async (other) => {
      const client = clientFor(h.double.url, other.double.caPem);
      try {
        const res = await client.request({ path: "/version" });
        assertEquals(res.ok ? "ok" : res.failure, "network");
        assertEquals(h.double.requests.length, 0);
      } finally {
        client.close();
      }
    });
  });
});

Deno.test("client: requests take turns, each with its own timeout from its turn", async () => {
  await withKubeDouble(async (h) => {
    h.double.faults.set("nodes", "hang");
    const client = clientFor(h.double.url, h.double.caPem, { timeoutMs: 300 });
    try {
      const done: string[] = [];
      const ask = async (path: string) => {
        const res = await client.request({ path });
        done.push(path);
        return res;
      };
      const [first, second, third] = await Promise.all([
        ask("/api/v1/nodes"),
        ask("/api/v1/nodes"),
        ask("/version"),
      ]);
      // both hanging requests had their whole 300 ms, one after the other
      for (const res of [first, second]) {
        assertEquals(res.ok ? "ok" : res.failure, "timeout");
      }
      assertEquals(third.ok, true);
      assertEquals(done, ["/api/v1/nodes", "/api/v1/nodes", "/version"]);
      assertEquals(h.double.requests.map((r) => r.path), [
        "/api/v1/nodes",
        "/api/v1/nodes",
        "/version",
      ]);
    } finally {
      client.close();
    }
  }, { hangMs: 2_000 });
});
