// Fault suite, publisher side: an endpoint that accepts the connection and
// never answers, one that drips its response a byte at a time, and a host
// name that does not resolve (resolved by the test's own resolver, given to
// the publisher with its fetch: no DNS query leaves the machine). Each: a
// failure whose reason says what happened, in bounded time, truthful log
// lines, and a healthy URL in the same deliverAll delivered without waiting
// for the broken one. (500, 429, slow handlers, refused connections and 400
// are in publish_deliver_test.ts.)

import { assert, assertEquals, assertMatch, leading, nth } from "./assert.ts";
import {
  deliverAll,
  type DeliveryLog,
  type DeliveryOptions,
  type DeliveryResult,
} from "../src/publish/deliver.ts";
import {
  drip,
  holdForever,
  http200,
  type RawHandler,
  type RawServer,
  startRawServer,
} from "./fixtures/raw_http.ts";
import { requestedUrl } from "../src/publish/url.ts";
import {
  fetchWithoutDns,
  UNRESOLVABLE_HOST,
} from "./fixtures/fetch_without_dns.ts";

const ATTEMPT_TIMEOUT_MS = 400;
const OK_BODY = '{"status":1,"error":""}';
const UNRESOLVABLE = `http://${UNRESOLVABLE_HOST}`;
/** Every URL here is an IP literal but UNRESOLVABLE, which DNS does not know. */
const testFetch = fetchWithoutDns([UNRESOLVABLE_HOST]);

interface LogLine {
  level: "debug" | "info" | "warn";
  text: string;
}

/**
 * A DeliveryLog rendering LogTape-style `{name}` templates; a placeholder
 * without its property is an error, so a line cannot claim what it lacks.
 */
function recordingLog() {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) =>
  (
    message: string,
    props: Record<string, unknown> = {},
  ) => {
    const text = message.replace(/\{(\w+)\}/g, (_, key: string) => {
      if (!(key in props)) throw new Error(`log line lacks {${key}}`);
      return String(props[key]);
    });
    lines.push({ level, text });
  };
  const log: DeliveryLog = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
  };
  return { log, lines };
}

function options(log: DeliveryLog, extra: DeliveryOptions = {}) {
  return {
    logger: log,
    attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
    maxAttempts: 2,
    minBackoffMs: 5,
    maxBackoffMs: 10,
    random: () => 0,
    fetch: testFetch,
    ...extra,
  };
}

async function withRaw<T>(
  handler: RawHandler,
  fn: (server: RawServer) => Promise<T>,
): Promise<T> {
  const server = startRawServer(handler);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** A healthy receiver on loopback that answers the reference way. */
async function withHealthy<T>(
  fn: (url: string, hits: () => number) => Promise<T>,
): Promise<T> {
  let hits = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => {
      hits++;
      return new Response(OK_BODY, {
        headers: { "content-type": "application/json" },
      });
    },
  );
  try {
    return await fn(`http://127.0.0.1:${server.addr.port}`, () => hits);
  } finally {
    await server.shutdown();
  }
}

/**
 * deliverAll to a broken URL and a healthy one; checks the healthy one was
 * delivered first, on its first attempt, and the log says exactly what
 * happened to each. Returns the broken URL's result and its elapsed time.
 */
async function brokenBesideHealthy(
  broken: string,
  { healthyFirst }: { healthyFirst: boolean },
): Promise<{ result: DeliveryResult; ms: number; lines: LogLine[] }> {
  return await withHealthy(async (healthy, hits) => {
    const { log, lines } = recordingLog();
    const started = Date.now();
    const [result, good] = leading(
      await deliverAll(
        [broken, healthy],
        "eA==",
        options(log),
      ),
      2,
    );
    const ms = Date.now() - started;
    assertEquals(good, {
      url: `${healthy}/track`,
      delivered: true,
      attempts: 1,
      aborted: false,
    });
    assertEquals(hits(), 1);
    assertEquals(result.delivered, false);
    assertEquals(result.aborted, false);
    const shown = requestedUrl(broken);
    assertEquals(result.url, shown);

    const delivered = `delivered to ${healthy}/track after 1 attempt(s)`;
    if (healthyFirst) {
      // Reported before the broken URL's first failure: it did not wait
      // for the broken one's timeout.
      const texts = lines.map((l) => l.text);
      assertEquals(texts[0], delivered, texts.join("\n"));
    }
    // Outcome lines: one per URL, saying what the results say.
    const outcomes = lines.filter((l) => !l.text.startsWith("attempt "));
    const byText = (a: LogLine, b: LogLine) => a.text < b.text ? -1 : 1;
    assertEquals(
      outcomes.sort(byText),
      ([
        { level: "info", text: delivered },
        {
          level: "warn",
          text:
            `failed to deliver to ${shown}: ${result.reason} after ${result.attempts} attempt(s)`,
        },
      ] as LogLine[]).sort(byText),
    );
    // Each retry is announced with the failure that caused it: the first
    // at once as a warning, the others at debug level.
    const retries = lines.filter((l) => l.text.startsWith("attempt "));
    assertEquals(retries.length, result.attempts - 1);
    for (const [i, line] of retries.entries()) {
      assertEquals(line.level, i === 0 ? "warn" : "debug");
      assertMatch(
        line.text,
        new RegExp(
          `^attempt ${i + 1} to ${escape(shown)} failed: .+; retrying`,
        ),
      );
    }
    return { result, ms, lines };
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

Deno.test("publish: an endpoint that accepts and never answers times out each attempt; a healthy URL is delivered at once", async () => {
  await withRaw(holdForever, async (server) => {
    const { result, ms } = await brokenBesideHealthy(server.url, {
      healthyFirst: true,
    });
    assertEquals(result, {
      url: `${server.url}/track`,
      delivered: false,
      attempts: 2,
      reason: `no complete response within ${ATTEMPT_TIMEOUT_MS} ms`,
      aborted: false,
    });
    assertEquals(server.accepted(), 2, "one connection per attempt");
    // Bounded by the attempt timeouts, not by the endpoint (a hang guard).
    assert(ms < 2 * ATTEMPT_TIMEOUT_MS + 5_000, `${ms} ms`);
  });
});

Deno.test("publish: a response dripped one byte per 100 ms is bounded by the attempt timeout", async () => {
  await withRaw(drip(http200(OK_BODY), 100), async (server) => {
    const { result, ms } = await brokenBesideHealthy(server.url, {
      healthyFirst: true,
    });
    assertEquals(
      result.reason,
      `no complete response within ${ATTEMPT_TIMEOUT_MS} ms`,
    );
    assertEquals(result.attempts, 2);
    // The whole response would take over 10 s to arrive.
    assert(ms < 2 * ATTEMPT_TIMEOUT_MS + 5_000, `${ms} ms`);
  });
});

Deno.test("publish: the dripped response itself is a valid answer: dripped fast enough, it is delivered", async () => {
  // The control for the test above: only the pace made it fail.
  await withRaw(drip(http200(OK_BODY), 1), async (server) => {
    const { log, lines } = recordingLog();
    const result = nth(
      await deliverAll(
        [server.url],
        "eA==",
        options(log, { attemptTimeoutMs: 20_000 }),
      ),
      0,
    );
    assertEquals(result.delivered, true, result.reason);
    assertEquals(lines.map((l) => l.text), [
      `delivered to ${server.url}/track after 1 attempt(s)`,
    ]);
  });
});

Deno.test("publish: a host name that does not resolve fails saying so; a healthy URL is delivered", async () => {
  const { result, ms } = await brokenBesideHealthy(UNRESOLVABLE, {
    healthyFirst: false,
  });
  assertEquals(result.url, `${UNRESOLVABLE}/track`);
  assertEquals(result.attempts, 2, "a DNS failure is retried, bounded");
  assertEquals(result.reason, "DNS: host name not found");
  assert(!result.reason?.includes("data="), result.reason);
  assert(ms < 2 * ATTEMPT_TIMEOUT_MS + 5_000, `${ms} ms`);
});

Deno.test("publish: the three broken endpoints and a healthy one in one deliverAll", async () => {
  await withRaw(holdForever, async (hold) => {
    await withRaw(drip(http200(OK_BODY), 100), async (dripping) => {
      await withHealthy(async (healthy) => {
        const { log, lines } = recordingLog();
        const urls = [hold.url, dripping.url, UNRESOLVABLE, healthy];
        const results = await deliverAll(
          urls,
          "eA==",
          options(log, { maxAttempts: 1 }),
        );
        assertEquals(results.map((r) => [r.url, r.delivered]), [
          [`${hold.url}/track`, false],
          [`${dripping.url}/track`, false],
          [`${UNRESOLVABLE}/track`, false],
          [`${healthy}/track`, true],
        ]);
        const timeout = `no complete response within ${ATTEMPT_TIMEOUT_MS} ms`;
        assertEquals(nth(results, 0).reason, timeout);
        assertEquals(nth(results, 1).reason, timeout);
        assertEquals(nth(results, 2).reason, "DNS: host name not found");
        // Exactly one line per URL, and the healthy one first of the four
        // (the DNS failure may come before or after it, never the timeouts).
        const texts = lines.map((l) => l.text);
        assertEquals(texts.length, 4, texts.join("\n"));
        for (const url of urls) {
          assertEquals(texts.filter((t) => t.includes(`to ${url}`)).length, 1);
        }
        const healthyAt = texts.indexOf(
          `delivered to ${healthy}/track after 1 attempt(s)`,
        );
        assert(
          healthyAt < texts.findIndex((t) => t.includes(hold.url)) &&
            healthyAt < texts.findIndex((t) => t.includes(dripping.url)),
          texts.join("\n"),
        );
      });
    });
  });
});
