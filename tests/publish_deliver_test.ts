// Delivery against real loopback endpoints, with tiny backoffs and injected
// sleeps so no test waits for real seconds.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  nth,
} from "./assert.ts";
import {
  backoffMs,
  deliver,
  deliverAll,
  type DeliveryLog,
  type DeliveryOptions,
  parseRetryAfter,
  stoppedBeforeDelivery,
} from "../src/publish/deliver.ts";
import { buildEvent, encodeEventData } from "../src/publish/event.ts";
import { delay } from "../src/runtime/delay.ts";
import { REFUSING_PORT } from "./fixtures/refused.ts";

type Handler = (req: Request, hit: number) => Response | Promise<Response>;

/** What a request looked like (a Request cannot be read once answered). */
interface Seen {
  method: string;
  url: URL;
  headers: Headers;
}

interface Endpoint {
  base: string;
  port: number;
  /** Every request received, in order. */
  requests: Seen[];
  /** Resolved when the test ends; hanging handlers wait on it. */
  released: Promise<void>;
}

async function withEndpoint(
  handler: Handler,
  fn: (endpoint: Endpoint) => Promise<void>,
): Promise<void> {
  const release = Promise.withResolvers<void>();
  const requests: Seen[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      requests.push({
        method: req.method,
        url: new URL(req.url),
        headers: new Headers(req.headers),
      });
      return handler(req, requests.length);
    },
  );
  try {
    await fn({
      base: `http://127.0.0.1:${server.addr.port}`,
      port: server.addr.port,
      requests,
      released: release.promise,
    });
  } finally {
    release.resolve();
    await server.shutdown();
  }
}

/** Answers only when the test ends: the client must give up by itself. */
async function hang(_req: Request, endpoint: () => Endpoint) {
  await endpoint().released;
  return new Response("too late", { status: 500 });
}

const ok = () => Response.json({ status: 1, error: "" });
const status = (code: number, body = "", headers: HeadersInit = {}) => () =>
  new Response(body, { status: code, headers });

interface LogLine {
  level: string;
  text: string;
}

/** A DeliveryLog that renders LogTape-style templates into lines. */
function recordingLog(onLine?: (line: LogLine) => void) {
  const lines: LogLine[] = [];
  const at = (level: string) =>
  (
    message: string,
    props: Record<string, unknown> = {},
  ) => {
    const text = message.replace(/\{(\w+)\}/g, (_, k) => String(props[k]));
    const line = { level, text };
    lines.push(line);
    onLine?.(line);
  };
  const log: DeliveryLog = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
  };
  return {
    log,
    lines,
    outcomes: () => lines.filter((l) => l.level !== "debug"),
  };
}

/** Records the waits asked for and returns at once. */
function recordingSleep() {
  const waits: number[] = [];
  const sleep = (ms: number) => {
    waits.push(ms);
    return Promise.resolve();
  };
  return { waits, sleep };
}

function fast(extra: DeliveryOptions = {}): DeliveryOptions {
  return {
    minBackoffMs: 1,
    maxBackoffMs: 4,
    attemptTimeoutMs: 2_000,
    random: () => 0.5,
    logger: recordingLog().log,
    ...extra,
  };
}

Deno.test("deliver: 500 twice then 200 is delivered on the 3rd attempt", async () => {
  const { log, outcomes } = recordingLog();
  const { waits, sleep } = recordingSleep();
  await withEndpoint(
    (_req, hit) => hit <= 2 ? status(500, "busy")() : ok(),
    async (ep) => {
      const result = await deliver(
        ep.base,
        "ZGF0YQ==",
        fast({ logger: log, sleep }),
      );
      assertEquals(result, {
        url: `${ep.base}/track`,
        delivered: true,
        attempts: 3,
        aborted: false,
      });
      assertEquals(ep.requests.length, 3);
      assertEquals(waits.length, 2);
      // The first failure at once, with its cause; the second at debug.
      assertEquals(outcomes(), [{
        level: "warn",
        text:
          `attempt 1 to ${ep.base}/track failed: HTTP 500 Internal Server Error: busy; retrying, up to 20 attempts in all (LOG_LEVEL=debug shows each); the outcome follows`,
      }, {
        level: "info",
        text: `delivered to ${ep.base}/track after 3 attempt(s)`,
      }]);
    },
  );
});

Deno.test("deliver: 429 with Retry-After: 1 waits at least 1 s before retrying", async () => {
  const { waits, sleep } = recordingSleep();
  await withEndpoint(
    (_req, hit) => hit === 1 ? status(429, "", { "retry-after": "1" })() : ok(),
    async (ep) => {
      const result = await deliver(ep.base, "eA==", fast({ sleep }));
      assertEquals(result.delivered, true);
      assertEquals(result.attempts, 2);
      assertEquals(waits, [1000]);
    },
  );
});

Deno.test("deliver: Retry-After as an HTTP date is honoured against the clock", async () => {
  const now = Date.UTC(2026, 10, 24, 18, 21, 43);
  const { waits, sleep } = recordingSleep();
  await withEndpoint(
    (_req, hit) =>
      hit === 1
        ? status(503, "", {
          "retry-after": new Date(now + 3_000).toUTCString(),
        })()
        : ok(),
    async (ep) => {
      const result = await deliver(
        ep.base,
        "eA==",
        fast({ sleep, now: () => now }),
      );
      assertEquals([result.delivered, result.attempts], [true, 2]);
      assertEquals(waits, [3000]);
    },
  );
});

Deno.test("deliver: a Retry-After beyond the cap ends delivery rather than retrying early", async () => {
  const { waits, sleep } = recordingSleep();
  await withEndpoint(
    status(429, "", { "retry-after": "3600" }),
    async (ep) => {
      const result = await deliver(
        ep.base,
        "eA==",
        fast({ sleep, maxRetryAfterMs: 60_000 }),
      );
      assertEquals([result.delivered, result.attempts], [false, 1]);
      assertEquals(waits, []);
      assertEquals(
        result.reason,
        "HTTP 429 Too Many Requests; Retry-After asks for 3600 s, longer than the 60 s this agent waits",
      );
    },
  );
});

Deno.test("deliver: a hanging endpoint times out each attempt and is retried, bounded", async () => {
  let endpoint!: Endpoint;
  const { waits, sleep } = recordingSleep();
  await withEndpoint(
    (req) => hang(req, () => endpoint),
    async (ep) => {
      endpoint = ep;
      const result = await deliver(
        ep.base,
        "eA==",
        fast({ sleep, attemptTimeoutMs: 50, maxAttempts: 3 }),
      );
      assertEquals(result, {
        url: `${ep.base}/track`,
        delivered: false,
        attempts: 3,
        reason: "no complete response within 50 ms",
        aborted: false,
      });
      assertEquals(ep.requests.length, 3);
      assertEquals(waits.length, 2);
    },
  );
});

Deno.test("deliver: a body that drips forever is bounded by the attempt timeout", async () => {
  await withEndpoint(
    () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const body = new ReadableStream<Uint8Array>({
        pull: (controller) =>
          new Promise((resolve) => {
            timer = setTimeout(() => {
              controller.enqueue(new Uint8Array([0x20]));
              resolve();
            }, 5);
          }),
        cancel: () => clearTimeout(timer),
      });
      return new Response(body, { status: 200 });
    },
    async (ep) => {
      const result = await deliver(
        ep.base,
        "eA==",
        fast({ attemptTimeoutMs: 60, maxAttempts: 1 }),
      );
      assertEquals(result.delivered, false);
      assertEquals(result.reason, "no complete response within 60 ms");
    },
  );
});

Deno.test("deliver: a huge 200 body is read only up to the limit and refused", async () => {
  let served = 0;
  await withEndpoint(
    () => {
      const chunk = new Uint8Array(16 * 1024).fill(0x61);
      const body = new ReadableStream<Uint8Array>({
        pull: (controller) => {
          served += chunk.length;
          controller.enqueue(chunk);
        },
      });
      return new Response(body, { status: 200 });
    },
    async (ep) => {
      const result = await deliver(
        ep.base,
        "eA==",
        fast({ maxBodyBytes: 1024 }),
      );
      assertEquals([result.delivered, result.attempts], [false, 1]);
      assertEquals(result.reason, "HTTP 200 with a body over 1024 bytes");
      assert(served < 64 * 1024 * 1024, `server pushed ${served} bytes`);
    },
  );
});

Deno.test("deliver: a refused connection is retried, then fails with the network reason", async () => {
  const port = REFUSING_PORT;
  const { log, outcomes } = recordingLog();
  const { waits, sleep } = recordingSleep();
  const base = `http://127.0.0.1:${port}`;
  const result = await deliver(
    base,
    "eA==",
    fast({ logger: log, sleep, maxAttempts: 3 }),
  );
  assertEquals([result.delivered, result.attempts, result.aborted], [
    false,
    3,
    false,
  ]);
  assertMatch(result.reason ?? "", /refused/i);
  assert(!result.reason?.includes("data="), result.reason);
  assertEquals(waits.length, 2);
  const all = outcomes();
  const [first, last, more] = [nth(all, 0), nth(all, 1), all.slice(2)];
  assertEquals(more, []);
  assertEquals(first.level, "warn");
  assertStringIncludes(
    first.text,
    `attempt 1 to ${base}/track failed: ${result.reason}; retrying`,
  );
  assertEquals(last.level, "warn");
  assertEquals(
    last.text,
    `failed to deliver to ${base}/track: ${result.reason} after 3 attempt(s)`,
  );
});

Deno.test("deliver: 400 is not retried; the receiver's words are the reason", async () => {
  const { waits, sleep } = recordingSleep();
  await withEndpoint(
    status(400, "unable to interpret request as an event: bad base64"),
    async (ep) => {
      const result = await deliver(ep.base, "eA==", fast({ sleep }));
      assertEquals(result, {
        url: `${ep.base}/track`,
        delivered: false,
        attempts: 1,
        reason:
          "HTTP 400 Bad Request: unable to interpret request as an event: bad base64",
        aborted: false,
      });
      assertEquals(ep.requests.length, 1);
      assertEquals(waits, []);
    },
  );
});

Deno.test("deliver: 200 with status 0 is a failure, not retried", async () => {
  const { log, lines } = recordingLog();
  await withEndpoint(
    () => Response.json({ status: 0, error: "token missing" }),
    async (ep) => {
      const result = await deliver(ep.base, "eA==", fast({ logger: log }));
      assertEquals([result.delivered, result.attempts], [false, 1]);
      assertEquals(result.reason, 'HTTP 200 but "status":0: token missing');
      assert(!lines.some((l) => /delivered to|published/.test(l.text)));
    },
  );
});

Deno.test("deliver: 200 without a JSON status is a failure", async () => {
  await withEndpoint(
    () => new Response("<html>captive portal</html>"),
    async (ep) => {
      const result = await deliver(ep.base, "eA==", fast());
      assertEquals(result.delivered, false);
      assertEquals(
        result.reason,
        'HTTP 200 but a body that is not JSON with "status":1: <html>captive portal</html>',
      );
    },
  );
});

Deno.test("deliver: persistent 503 stops after maxAttempts with jittered, growing waits", async () => {
  const { waits, sleep } = recordingSleep();
  await withEndpoint(status(503), async (ep) => {
    const result = await deliver(
      ep.base,
      "eA==",
      fast({
        sleep,
        minBackoffMs: 10,
        maxBackoffMs: 40,
        maxAttempts: 4,
        random: () => 0.5,
      }),
    );
    assertEquals(result.attempts, 4);
    assertEquals(result.reason, "HTTP 503 Service Unavailable");
    assertEquals(ep.requests.length, 4);
    // ceilings 20, 40, 40 (capped); half-way between the floor and each
    assertEquals(waits, [15, 25, 25]);
  });
});

Deno.test("backoffMs: full jitter between the floor and a capped exponential ceiling", () => {
  const o = (r: number) => ({
    minBackoffMs: 1000,
    maxBackoffMs: 30_000,
    random: () => r,
  });
  assertEquals(backoffMs(1, o(0)), 1000);
  assertEquals(backoffMs(1, o(0.999999)), 2000);
  assertEquals(backoffMs(3, o(0.999999)), 8000);
  assertEquals(backoffMs(19, o(0.999999)), 30_000);
  assertEquals(backoffMs(19, o(0)), 1000);
});

Deno.test("parseRetryAfter: seconds, HTTP dates, junk", () => {
  const now = Date.UTC(2026, 0, 1);
  assertEquals(parseRetryAfter(null, now), undefined);
  assertEquals(parseRetryAfter(" 7 ", now), 7000);
  assertEquals(
    parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now),
    30_000,
  );
  assertEquals(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
  assertEquals(parseRetryAfter("-5", now), undefined);
  assertEquals(parseRetryAfter("soon", now), undefined);
});

Deno.test("deliverAll: a failing URL does not delay delivery to a healthy one", async () => {
  const controller = new AbortController();
  const order: string[] = [];
  let failingStillRetrying = false;
  let failingSettled = false;
  const { log } = recordingLog((line) => order.push(line.text));
  // The failing URL's backoff never ends on its own: only the abort below
  // ends it, after the healthy URL has been delivered.
  const sleep = (_ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      failingStillRetrying = true;
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  const safety = setTimeout(() => controller.abort(), 10_000);
  try {
    await withEndpoint(status(500, "down"), async (failing) => {
      await withEndpoint(ok, async (healthy) => {
        const all = deliverAll([failing.base, healthy.base], "eA==", {
          ...fast({ logger: log, sleep, signal: controller.signal }),
        });
        // abort as soon as the healthy URL is reported delivered
        const watch = setInterval(() => {
          if (
            order.some((t) => t.startsWith(`delivered to ${healthy.base}/`))
          ) {
            clearInterval(watch);
            failingSettled = order.some((t) =>
              t.includes(failing.base) && !t.startsWith("attempt")
            );
            controller.abort();
          }
        }, 1);
        const results = await all;
        clearInterval(watch);
        assertEquals(results[1], {
          url: `${healthy.base}/track`,
          delivered: true,
          attempts: 1,
          aborted: false,
        });
        assertEquals(results[0], {
          url: `${failing.base}/track`,
          delivered: false,
          attempts: 1,
          reason: "stopped before delivery",
          aborted: true,
          lastCause: "HTTP 500 Internal Server Error: down",
        });
        assert(failingStillRetrying, "the failing URL was in its backoff");
        assert(!failingSettled, "healthy was delivered before failing ended");
        assertEquals(order.filter((t) => !t.startsWith("attempt")), [
          `delivered to ${healthy.base}/track after 1 attempt(s)`,
          `not delivered to ${failing.base}/track: stopped before delivery after 1 attempt(s); last cause: HTTP 500 Internal Server Error: down`,
        ]);
      });
    });
  } finally {
    clearTimeout(safety);
  }
});

Deno.test("deliver: abort during a real backoff sleep returns promptly", async () => {
  const controller = new AbortController();
  const asked: number[] = [];
  const started = Date.now();
  await withEndpoint(status(500), async (ep) => {
    const result = await deliver(ep.base, "eA==", {
      ...fast(),
      minBackoffMs: 60_000,
      maxBackoffMs: 60_000,
      signal: controller.signal,
      sleep: (ms, signal) => {
        asked.push(ms);
        setTimeout(() => controller.abort(), 10);
        return delay(ms, signal);
      },
    });
    assertEquals(result, {
      url: `${ep.base}/track`,
      delivered: false,
      attempts: 1,
      reason: "stopped before delivery",
      aborted: true,
      lastCause: "HTTP 500 Internal Server Error",
    });
    assertEquals(asked, [60_000]);
    assertEquals(ep.requests.length, 1);
  });
  // far less than the 60 s backoff it was sleeping
  assert(Date.now() - started < 30_000);
});

Deno.test("deliver: abort during a hanging attempt returns promptly", async () => {
  let endpoint!: Endpoint;
  const controller = new AbortController();
  await withEndpoint(
    (req) => {
      setTimeout(() => controller.abort(), 10);
      return hang(req, () => endpoint);
    },
    async (ep) => {
      endpoint = ep;
      const result = await deliver(ep.base, "eA==", {
        ...fast(),
        attemptTimeoutMs: 60_000,
        signal: controller.signal,
      });
      assertEquals([result.delivered, result.aborted, result.attempts], [
        false,
        true,
        1,
      ]);
    },
  );
});

Deno.test("deliver: an already aborted signal makes no request", async () => {
  await withEndpoint(ok, async (ep) => {
    const result = await deliver(ep.base, "eA==", {
      ...fast(),
      signal: AbortSignal.abort(),
    });
    assertEquals([result.delivered, result.aborted, result.attempts], [
      false,
      true,
      0,
    ]);
    assertEquals(ep.requests.length, 0);
  });
});

Deno.test("deliver: the event reaches the endpoint byte-exact via GET <base>/track", async () => {
  const event = buildEvent({
    snapshot: {
      model_count: 3,
      cluster_id: "6f1c1a52-27b3-4d1e-9a53-0c3b7f0a9d11",
    },
    clusterId: "6f1c1a52-27b3-4d1e-9a53-0c3b7f0a9d11",
    token: "tok+/=",
    timeMs: 1_795_544_503_000,
    insertId: "e3b0c442-98fc-4c14-9afb-f4c8996fb924",
  });
  // non-ASCII so the base64 holds "+" and "/" and multi-byte UTF-8
  event.properties.note = "ünïcødé ✓ ~~~>>>???";
  const data = encodeEventData(event);
  assert(/[+/]/.test(data), "the sample exercises '+' or '/'");
  await withEndpoint(ok, async (ep) => {
    const result = await deliver(`${ep.base}/base/`, data, fast());
    assertEquals(result.delivered, true);
    const req = nth(ep.requests, 0);
    const url = req.url;
    assertEquals(req.method, "GET");
    assertEquals(url.pathname, "/base/track");
    assertEquals(url.searchParams.get("verbose"), "1");
    const received = url.searchParams.get("data")!;
    assertEquals(received, data);
    const bytes = Uint8Array.from(atob(received), (c) => c.charCodeAt(0));
    assertEquals(
      bytes,
      new TextEncoder().encode(JSON.stringify(event)),
    );
    assertEquals(JSON.parse(new TextDecoder().decode(bytes)), event);
  });
});

Deno.test("deliver: credentials go to the endpoint but never into logs or results", async () => {
  const { log, lines } = recordingLog();
  await withEndpoint(status(401, "who are you"), async (ep) => {
    const base = `http://user:s3cret@127.0.0.1:${ep.port}/base?k=qsecret`;
    const result = await deliver(base, "eA==", fast({ logger: log }));
    assertEquals(
      nth(ep.requests, 0).headers.get("authorization"),
      `Basic ${btoa("user:s3cret")}`,
    );
    assertEquals(result.url, `http://127.0.0.1:${ep.port}/base/track`);
    assertEquals(lines.map((l) => l.text), [
      `failed to deliver to http://127.0.0.1:${ep.port}/base/track: HTTP 401 Unauthorized: who are you after 1 attempt(s)`,
    ]);
    for (const text of [...lines.map((l) => l.text), JSON.stringify(result)]) {
      assert(!/s3cret|qsecret|data=/.test(text), text);
    }
  });
});

Deno.test("deliver: an unusable URL is a failure value, not a throw", async () => {
  const { log, lines } = recordingLog();
  let fetched = false;
  const fetch = () => {
    fetched = true;
    return Promise.resolve(new Response());
  };
  for (const url of ["not a url", "ftp://127.0.0.1/x"]) {
    const result = await deliver(url, "eA==", fast({ logger: log, fetch }));
    assertEquals([result.delivered, result.attempts], [false, 0]);
    assertStringIncludes(result.reason ?? "", "URL");
  }
  assertEquals(fetched, false);
  assertEquals(lines.length, 2);
  assert(!lines.some((l) => l.text.includes("not a url")));
});

Deno.test("deliver: 404 is not retried and says what the URL should be", async () => {
  const { log, outcomes } = recordingLog();
  // the longest body the receiver's words are cut to does not hide the hint
  await withEndpoint(status(404, "x".repeat(1000)), async (ep) => {
    const result = await deliver(ep.base, "eA==", fast());
    assertStringIncludes(
      result.reason ?? "",
      "a hodometer or Mixpanel receiver? Give its base URL",
    );
  });
  await withEndpoint(status(404, "404 page not found"), async (ep) => {
    const result = await deliver(
      `${ep.base}/api`,
      "eA==",
      fast({ logger: log }),
    );
    assertEquals([result.delivered, result.attempts], [false, 1]);
    assertEquals(
      result.reason,
      `HTTP 404 Not Found: 404 page not found; is ${ep.base}/api/track a hodometer or Mixpanel receiver? Give its base URL (/track is added unless the URL ends in /track)`,
    );
    assertEquals(outcomes().length, 1);
  });
});

Deno.test("deliver: a URL that ends in /track is requested as it is, once", async () => {
  await withEndpoint(ok, async (ep) => {
    const result = await deliver(`${ep.base}/track/`, "eA==", fast());
    assertEquals(result.url, `${ep.base}/track`);
    assertEquals(ep.requests.map((r) => r.url.pathname), ["/track"]);
  });
});

Deno.test("deliver: a reason is cut to one readable line", async () => {
  await withEndpoint(status(400, "x".repeat(1000)), async (ep) => {
    const result = await deliver(ep.base, "eA==", fast());
    assert((result.reason ?? "").length <= 501, result.reason);
    assert(result.reason?.endsWith("…"), result.reason);
  });
});

Deno.test("deliver: stopped during the first attempt says so, without a cause", async () => {
  let endpoint!: Endpoint;
  const controller = new AbortController();
  const { log, outcomes } = recordingLog();
  await withEndpoint(
    (req) => {
      setTimeout(() => controller.abort(), 10);
      return hang(req, () => endpoint);
    },
    async (ep) => {
      endpoint = ep;
      const result = await deliver(ep.base, "eA==", {
        ...fast({ logger: log }),
        attemptTimeoutMs: 60_000,
        signal: controller.signal,
      });
      assertEquals(result.lastCause, undefined);
      assertEquals(outcomes(), [{
        level: "warn",
        text:
          `not delivered to ${ep.base}/track: stopped before delivery, during attempt 1`,
      }]);
    },
  );
});

Deno.test("stoppedBeforeDelivery: each URL said not delivered, no request made", () => {
  const { log, outcomes } = recordingLog();
  const results = stoppedBeforeDelivery(
    ["http://u:pw@a:1", "http://b/x/track"],
    log,
  );
  assertEquals(results.map((r) => [r.url, r.delivered, r.aborted]), [
    ["http://a:1/track", false, true],
    ["http://b/x/track", false, true],
  ]);
  assertEquals(outcomes().map((l) => [l.level, l.text]), [
    [
      "warn",
      "not delivered to http://a:1/track: stopped before delivery (no attempt made)",
    ],
    [
      "warn",
      "not delivered to http://b/x/track: stopped before delivery (no attempt made)",
    ],
  ]);
});
