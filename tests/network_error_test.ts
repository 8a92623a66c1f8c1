// Failed requests name their cause in a few words: each cause provoked for
// real over loopback (refused port, TLS servers whose certificate is
// untrusted, expired, for another name or self-signed, a server that resets,
// plaintext to TLS), through fetch, the publisher and the Kubernetes client;
// and the raw messages of both HTTP stacks by table, a name that does not
// resolve among them (provoked for real, it would send a DNS query off the
// machine).

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { describeNetworkError } from "../src/net/network_error.ts";
import { deliver } from "../src/publish/deliver.ts";
import { httpKubeClient } from "../src/kube/client.ts";
import { generateCerts, signServerCert } from "./fixtures/certs.ts";
import { assertRefusing, REFUSING_URL } from "./fixtures/refused.ts";
import { dnsNotFound } from "./fixtures/fetch_without_dns.ts";

/** What fetch threw, described. */
async function fetchFailure(
  url: string,
  client?: Deno.HttpClient,
): Promise<string> {
  try {
    const res = await fetch(url, {
      client,
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    return `answered ${res.status}`;
  } catch (e) {
    return describeNetworkError(e);
  }
}

interface TlsWorld {
  dir: string;
  ca: string;
  /** HTTPS servers on 127.0.0.1 with the given certificate, closed afterwards. */
  serve(cert: { certPem: string; keyPem: string }): string;
}

async function withTls(fn: (w: TlsWorld) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-neterr-" });
  const servers: Deno.HttpServer[] = [];
  try {
    const certs = await generateCerts(dir);
    await fn({
      dir,
      ca: certs.caPem,
      serve: ({ certPem, keyPem }) => {
        const s = Deno.serve({
          hostname: "127.0.0.1",
          port: 0,
          cert: certPem,
          key: keyPem,
          onListen() {},
          onError: () => new Response("", { status: 500 }),
        }, () => new Response('{"status":1,"error":""}'));
        servers.push(s);
        return `https://127.0.0.1:${s.addr.port}`;
      },
    });
  } finally {
    await Promise.all(servers.map((s) => s.shutdown()));
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cause: connection refused", async () => {
  await assertRefusing();
  assertEquals(
    await fetchFailure(`${REFUSING_URL}/`),
    "connection refused (nothing listens on that port)",
  );
});

Deno.test("cause: a server that closes the connection without answering", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closing = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(1024)).catch(() => null);
      conn.close();
    }
  })();
  try {
    assertMatch(
      await fetchFailure(`http://127.0.0.1:${listener.addr.port}/`),
      /^connection (closed by the server before it answered|reset by the server)$/,
    );
  } finally {
    listener.close();
    await closing.catch(() => {});
  }
});

Deno.test("cause: TLS, and which certificate problem", async () => {
  await withTls(async (w) => {
    const trusting = Deno.createHttpClient({ caCerts: [w.ca] });
    try {
      const good = w.serve(
        await signServerCert(w.dir, "good", { altNames: ["IP:127.0.0.1"] }),
      );
      assertEquals(await fetchFailure(`${good}/`, trusting), "answered 200");
      // Not signed by a CA the client trusts (the system roots).
      assertMatch(await fetchFailure(`${good}/`), /unknown issuer/);
      const expired = w.serve(
        await signServerCert(w.dir, "expired", {
          altNames: ["IP:127.0.0.1"],
          expired: true,
        }),
      );
      assertMatch(await fetchFailure(`${expired}/`, trusting), /has expired$/);
      const elsewhere = w.serve(
        await signServerCert(w.dir, "elsewhere", {
          altNames: ["DNS:elsewhere.example"],
        }),
      );
      assertMatch(
        await fetchFailure(`${elsewhere}/`, trusting),
        /does not name this host \(name mismatch/,
      );
      // Plaintext to a TLS port, and TLS to a plaintext one.
      assertMatch(
        await fetchFailure(good.replace("https:", "http:") + "/"),
        /did not answer in HTTP/,
      );
      const plain = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        () => new Response("plain"),
      );
      try {
        assertMatch(
          await fetchFailure(`https://127.0.0.1:${plain.addr.port}/`),
          /does not speak TLS on this port/,
        );
      } finally {
        await plain.shutdown();
      }
    } finally {
      trusting.close();
    }
  });
});

Deno.test("the publisher says the cause: refused, and an untrusted certificate", async () => {
  const refused = await deliver(REFUSING_URL, "eA==", {
    maxAttempts: 1,
    logger: { debug() {}, info() {}, warn() {} },
  });
  assertEquals(
    refused.reason,
    "connection refused (nothing listens on that port)",
  );
  await withTls(async (w) => {
    const url = w.serve(
      await signServerCert(w.dir, "pub", { altNames: ["IP:127.0.0.1"] }),
    );
    const r = await deliver(url, "eA==", {
      maxAttempts: 1,
      logger: { debug() {}, info() {}, warn() {} },
    });
    assertEquals(r.delivered, false);
    assertMatch(r.reason ?? "", /^TLS: .*unknown issuer/);
  });
});

Deno.test("the Kubernetes client says the cause: an expired API server certificate, a refused port", async () => {
  await withTls(async (w) => {
    const url = w.serve(
      await signServerCert(w.dir, "api", {
        altNames: ["IP:127.0.0.1"],
        expired: true,
      }),
    );
    const httpClient = Deno.createHttpClient({ caCerts: [w.ca] });
    const client = httpKubeClient({
      mode: "kubeconfig",
      server: url,
      httpClient,
      timeoutMs: 10_000,
      credentials: () => Promise.resolve({ headers: {} }),
    });
    try {
      const res = await client.request({ path: "/version" });
      assert(!res.ok);
      assertEquals(res.failure, "network");
      assertEquals(
        res.message,
        "GET /version: TLS: the server's certificate has expired",
      );
      const refused = httpKubeClient({
        mode: "kubeconfig",
        server: REFUSING_URL,
        timeoutMs: 10_000,
        credentials: () => Promise.resolve({ headers: {} }),
      });
      const r = await refused.request({ path: "/version" });
      assert(!r.ok);
      assertMatch(r.message, /^GET \/version: connection refused/);
    } finally {
      client.close();
    }
  });
});

Deno.test("raw messages of Deno's fetch and of node:https map to the same few words", () => {
  const fetchFailed = (cause: string) =>
    new TypeError("fetch failed", { cause: new Error(cause) });
  const node = (code: string, message: string) =>
    Object.assign(new Error(message), { code });
  const cases: [unknown, RegExp][] = [
    [
      fetchFailed(
        "error sending request for url (https://x/): client error (Connect): invalid peer certificate: UnknownIssuer",
      ),
      /unknown issuer/,
    ],
    [
      node(
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "unable to verify the first certificate",
      ),
      /unknown issuer/,
    ],
    [node("CERT_HAS_EXPIRED", "certificate has expired"), /has expired/],
    [
      node(
        "ERR_TLS_CERT_ALTNAME_INVALID",
        "Hostname/IP does not match certificate's altnames",
      ),
      /name mismatch/,
    ],
    [
      node("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"),
      /self-signed/,
    ],
    [
      fetchFailed(
        "error sending request for url (https://x/): client error (Connect): invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))",
      ),
      /self-signed/,
    ],
    [
      node("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1"),
      /^connection refused/,
    ],
    [
      node("ENOTFOUND", "getaddrinfo ENOTFOUND x.invalid"),
      /^DNS: host name not found$/,
    ],
    [dnsNotFound("http://x.invalid/"), /^DNS: host name not found$/],
    [
      fetchFailed(
        "error sending request for url (http://x/): client error (Connect): dns error: failed to lookup address information: Temporary failure in name resolution",
      ),
      /^DNS: the host name could not be resolved/,
    ],
    [node("ECONNRESET", "read ECONNRESET"), /^connection reset/],
    [
      fetchFailed("tcp connect error: Connection timed out (os error 110)"),
      /^timeout$/,
    ],
    [
      fetchFailed(
        "client error (Connect): received fatal alert: CertificateRequired",
      ),
      /refused this agent's client certificate/,
    ],
  ];
  for (const [error, expected] of cases) {
    assertMatch(describeNetworkError(error), expected);
  }
  // Unknown causes keep their own words.
  assertEquals(
    describeNetworkError(fetchFailed("something new")),
    "fetch failed: something new",
  );
  assertEquals(describeNetworkError("plain string"), "plain string");
});
