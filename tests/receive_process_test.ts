// `hodometer receive` end to end: a real process on 127.0.0.1, real sockets.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "./assert.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import { encodeEventData } from "../src/publish/event.ts";
import {
  fetchAllEvents,
  gzip,
  REFERENCE_DATA,
  sampleEvent,
  utf8,
} from "./receive_sample.ts";
import type { TrackEvent } from "../src/publish/event.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import { MiB } from "../src/runtime/units.ts";

const VERBOSE_OK = '{"status":1,"error":""}';

const data = (event: unknown) =>
  encodeURIComponent(encodeEventData(event as never));

Deno.test("the reference publish is answered as the reference receiver does", async () => {
  const receiver = await startReceiverProcess({
    args: ["--record-level", "all"],
  });
  try {
    const res = await fetch(
      `${receiver.url}/track?data=${REFERENCE_DATA}&verbose=1`,
    );
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assertEquals(await res.text(), VERBOSE_OK);

    const events = await (await fetch(`${receiver.url}/events`)).json();
    assertEquals(events.length, 1);
    assertEquals(events[0].event, "collect metrics");
    assertEquals(events[0].properties.$insert_id, "1795544503881249561");
  } finally {
    const exit = await receiver.stop();
    assertEquals(exit.code, 0, exit.stderr);
    assertEquals(exit.stdout, "", "nothing but data on stdout");
  }
});

interface BadCase {
  name: string;
  path?: string;
  init?: () => Promise<RequestInit> | RequestInit;
  status: number;
  error: RegExp;
}

const post = (body: BodyInit, headers: Record<string, string> = {}) => () => ({
  method: "POST",
  body,
  headers,
});

const withProperty = (key: string, value: unknown) => {
  const event = sampleEvent(1);
  if (value === undefined) delete event.properties[key];
  else event.properties[key] = value;
  return JSON.stringify(event);
};

const escape = (text: string) => text.replace(/[$]/g, "\\$&");

const BAD: BadCase[] = [
  { name: "no event", status: 400, error: /^no event provided$/ },
  {
    name: "invalid base64",
    path: "/track?verbose=1&data=not*base64!",
    status: 400,
    error: /^unable to interpret request as an event: .*not valid base64/,
  },
  {
    name: "invalid JSON",
    init: post('{"event": "foo",'),
    status: 400,
    error: /body is not valid JSON/,
  },
  {
    name: "properties not an object",
    init: post(JSON.stringify({ event: "x", properties: "token=abc" })),
    status: 400,
    error: /properties must be a non-empty JSON object, not string/,
  },
  ...["token", "distinct_id"].map((key) => ({
    name: `${key} missing`,
    init: post(withProperty(key, undefined)),
    status: 400,
    error: new RegExp(`required fields not provided: ${escape(key)}$`),
  })),
  ...["token", "time", "distinct_id", "$insert_id"].map((key) => ({
    name: `${key} of the wrong type`,
    init: post(withProperty(key, key === "time" ? "noon" : 12)),
    status: 400,
    error: new RegExp(`${escape(key)} must be`),
  })),
  {
    name: "a $insert_id of 1 MB",
    init: post(withProperty("$insert_id", "i".repeat(1_000_000))),
    status: 400,
    error: /the event is larger than 65536 characters/,
  },
  {
    name: "empty event name",
    init: post(JSON.stringify({ ...sampleEvent(1), event: "" })),
    status: 400,
    error: /event name is empty/,
  },
  {
    name: "whitespace event name",
    init: post(JSON.stringify({ ...sampleEvent(1), event: " \t " })),
    status: 400,
    error: /event name is empty/,
  },
  {
    name: "2001 events",
    init: post(
      JSON.stringify(Array.from({ length: 2001 }, (_, i) => sampleEvent(i))),
    ),
    status: 400,
    error: /a batch holds at most 2000 events; this one has more/,
  },
  {
    name: "a 2 MiB body",
    init: post(new Uint8Array(2 * MiB).fill(0x20)),
    status: 413,
    error: /request too large: the body is over 1048576 bytes/,
  },
  {
    name: "a 2 MiB body, chunked",
    init: () => {
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 2 * MiB) return controller.close();
          sent += 64 * 1024;
          controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
        },
      });
      return { method: "POST", body: stream };
    },
    status: 413,
    error: /request too large: the body is over 1048576 bytes/,
  },
  {
    name: "a gzip bomb",
    init: async () => ({
      method: "POST",
      body: (await gzip(new Uint8Array(32 * MiB).fill(0x20))) as BufferSource,
      headers: { "content-encoding": "gzip" },
    }),
    status: 413,
    error: /the decompressed body is over 1048576 bytes/,
  },
  {
    name: "200000-deep nested JSON",
    init: post("[".repeat(200_000) + "]".repeat(200_000)),
    status: 400,
    error: /properties nest deeper than 3 levels/,
  },
  {
    name: "nested properties",
    init: post(
      withProperty("deep", 0).replace(
        '"deep":0',
        `"deep":${'{"a":'.repeat(1000)}1${"}".repeat(1000)}`,
      ),
    ),
    status: 400,
    error: /properties nest deeper than 3 levels/,
  },
  {
    name: "a 500 000-element array property",
    init: post(
      withProperty("big", 0).replace(
        '"big":0',
        `"big":[${"0,".repeat(499_999)}0]`,
      ),
    ),
    status: 400,
    error: /the event is larger than 65536 characters of JSON/,
  },
  {
    name: "330 000 empty objects in one array",
    init: post(`[${"{},".repeat(329_999)}{}]`),
    status: 400,
    error: /a batch holds at most 2000 events/,
  },
  {
    name: "random bytes",
    init: post(crypto.getRandomValues(new Uint8Array(8192))),
    status: 400,
    error: /^unable to interpret request as an event: the body is not/,
  },
];

Deno.test("every bad input gets a 4xx saying what was wrong, and the next valid request is served", async () => {
  const receiver = await startReceiverProcess({
    args: ["--record-level", "summary"],
  });
  try {
    let valid = 0;
    for (const bad of BAD) {
      const res = await fetch(
        receiver.url + (bad.path ?? "/track?verbose=1"),
        await bad.init?.(),
      );
      assertEquals(res.status, bad.status, bad.name);
      const answer = await res.json();
      assertEquals(answer.status, 0, bad.name);
      assertMatch(answer.error, bad.error, bad.name);

      const next = await fetch(
        `${receiver.url}/track?verbose=1&data=${data(sampleEvent(valid))}`,
      );
      assertEquals(await next.text(), VERBOSE_OK, `after ${bad.name}`);
      valid++;
    }
    const summary = await (await fetch(`${receiver.url}/events`)).json();
    assertEquals(summary, [{ totalEvents: valid }]);
    assertEquals(valid, BAD.length);
  } finally {
    const exit = await receiver.stop();
    assertEquals(exit.code, 0, exit.stderr);
    assertStringIncludes(exit.stderr, "refused");
  }
});

Deno.test("200 concurrent valid requests are all counted", async () => {
  const receiver = await startReceiverProcess({
    args: ["--record-level", "summary"],
  });
  try {
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = i % 2 === 0
          ? await fetch(`${receiver.url}/track?data=${data(sampleEvent(i))}`)
          : await fetch(`${receiver.url}/track`, {
            method: "POST",
            body: JSON.stringify(sampleEvent(i)),
          });
        await res.body?.cancel();
        return res.status;
      }),
    );
    assertEquals(answers.filter((s) => s === 200).length, 200);
    const summary = await (await fetch(`${receiver.url}/events`)).json();
    assertEquals(summary, [{ totalEvents: 200 }]);
  } finally {
    assertEquals((await receiver.stop()).code, 0);
  }
});

Deno.test("/events in the three record levels", async () => {
  for (const level of ["none", "summary", "all"] as const) {
    const receiver = await startReceiverProcess({
      args: ["--record-level", level],
    });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(
          `${receiver.url}/track?data=${data(sampleEvent(i))}`,
        );
        assertEquals(res.status, 200);
        await res.body?.cancel();
      }
      const events = await (await fetch(`${receiver.url}/events`)).json();
      const expected = {
        none: [],
        summary: [{ totalEvents: 2 }],
        all: [sampleEvent(0), sampleEvent(1)],
      }[level];
      assertEquals(
        events.map((e: Record<string, unknown>) => {
          const { received_at: _, ...rest } = e;
          return rest;
        }),
        expected,
        level,
      );
    } finally {
      assertEquals((await receiver.stop()).code, 0);
    }
  }
});

Deno.test("all keeps --max-events, drops the oldest, counts the drops; ?limit pages them", async () => {
  const receiver = await startReceiverProcess({
    args: ["--record-level", "all", "--store", ":memory:", "--max-events", "3"],
  });
  try {
    const batch = Array.from({ length: 5 }, (_, i) => sampleEvent(i));
    const res = await fetch(`${receiver.url}/track`, {
      method: "POST",
      body: JSON.stringify(batch),
    });
    assertEquals(res.status, 200);
    await res.body?.cancel();

    const kept = await fetchAllEvents(receiver.url);
    assertEquals(
      kept.map((e) => e.properties),
      batch.slice(2).map((e) => e.properties),
    );
    const page = await fetch(`${receiver.url}/events?limit=2`);
    assertEquals(
      (await page.json()).map((e: TrackEvent) => e.properties.$insert_id),
      ["insert-2", "insert-3"],
    );
    assertMatch(page.headers.get("link")!, /cursor=\d+&limit=2>; rel="next"/);
    const health = await (await fetch(`${receiver.url}/healthz`)).json();
    assertEquals(health.droppedEvents, 2);
    assertEquals(health.storedEvents, 3);
    assertEquals(health.totalEvents, 5);
    await receiver.waitForLog(/2 older one\(s\) dropped so far/);
  } finally {
    assertEquals((await receiver.stop()).code, 0);
  }
});

/** Reads a whole HTTP/1.1 response from a connection the server closes. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  return new TextDecoder().decode(
    new Uint8Array(chunks.flatMap((c) => [...c])),
  );
}

Deno.test("SIGTERM: the body on its way is awaited and its request finished, new requests get 503 meanwhile, then exit 0", async () => {
  const receiver = await startReceiverProcess();
  let conn: Deno.Conn | undefined;
  try {
    const body = utf8(JSON.stringify(sampleEvent(1)));
    const half = Math.floor(body.length / 2);
    conn = await Deno.connect({ hostname: "127.0.0.1", port: receiver.port });
    await conn.write(utf8(
      "POST /track?verbose=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    ));
    await conn.write(body.subarray(0, half));
    // The head is read within moments; the body is still coming.
    await new Promise((resolve) => setTimeout(resolve, 300));

    receiver.signal("SIGTERM");
    await receiver.waitForLog(/SIGTERM.*finishing requests in flight/);
    // Deno's own shutdown would cut that body off: until it has arrived, the
    // receiver still accepts, and tells new requests to come back.
    const late = await fetch(`${receiver.url}/healthz`);
    assertEquals(late.status, 503);
    assertEquals(late.headers.get("connection"), "close");
    assertStringIncludes(await late.text(), "shutting down");

    await conn.write(body.subarray(half));
    const response = await readAll(conn);
    assertMatch(response, /^HTTP\/1\.1 200 OK\r\n/);
    assert(response.endsWith(`\r\n\r\n${VERBOSE_OK}`), response);

    // One SIGTERM is enough: wait for the exit without sending another.
    const exit = await receiver.exited();
    assertEquals(exit.code, 0, exit.stderr);
    assertStringIncludes(exit.stderr, "stopped; 1 event(s) received");
    let after: unknown;
    try {
      after = await fetch(`${receiver.url}/healthz`);
    } catch (err) {
      after = err;
    }
    assert(after instanceof TypeError, `nobody listens after: ${after}`);
  } finally {
    conn?.close();
    await receiver.stop();
  }
});

Deno.test("SIGINT stops the receiver with exit 0 too", async () => {
  const receiver = await startReceiverProcess();
  try {
    const exit = await receiver.stop("SIGINT");
    assertEquals(exit.code, 0, exit.stderr);
    assertMatch(exit.stderr, /SIGINT/);
  } finally {
    await receiver.stop();
  }
});

Deno.test("MAX_CONNECTIONS as shipped: silent sockets make room for a newcomer, counted on /metrics; 503 and closed only when every connection has a request in flight", async () => {
  const receiver = await startReceiverProcess({
    args: ["--max-connections", "2", "--header-timeout", "30s"],
  });
  const open = (): Promise<Deno.Conn> =>
    Deno.connect({ hostname: "127.0.0.1", port: receiver.port });
  const held: Deno.Conn[] = [];
  try {
    held.push(await open(), await open());
    // Both are accepted before the third arrives.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const res = await fetch(`${receiver.url}/healthz`);
    assertEquals(res.status, 200, "a newcomer is served past the cap");
    await res.body?.cancel();
    assertEquals(await readAll(held[0]!), "", "the oldest silent one closed");

    // Every connection with a request in flight (a body on its way, each
    // sent before the next connects): the next is refused.
    for (let i = 0; i < 2; i++) {
      const conn = await open();
      held.push(conn);
      await conn.write(
        new TextEncoder().encode(
          "POST /track HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n",
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const extra = await open();
    const answer = await readAll(extra);
    extra.close();
    assertMatch(answer, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assertStringIncludes(answer, "too many connections");

    for (const conn of held) conn.close();
    held.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
    assertMatch(metrics, /\nhodometer_receiver_connections_refused_total 1\n/);
    assertMatch(
      metrics,
      /\nhodometer_receiver_connections_evicted_total [2-4]\n/,
    );
  } finally {
    for (const conn of held) conn.close();
    const exit = await receiver.stop();
    assertEquals(exit.code, 0, exit.stderr);
  }
});

Deno.test("a port already taken is a clear error with exit 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const out = await hodometer([
      "receive",
      "--listen-host",
      "127.0.0.1",
      "--listen-port",
      String(port),
    ]);
    assertEquals(out.code, 1);
    assertMatch(
      out.stderr,
      new RegExp(`cannot listen on "?127\\.0\\.0\\.1"?:${port}`),
    );
  } finally {
    taken.close();
  }
});

Deno.test("the read token from a file guards the read side as Prometheus sends it; never logged; bad token settings stop start-up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-token-" });
  try {
    const secret = "tok-" + crypto.randomUUID();
    await Deno.writeTextFile(`${dir}/read-token`, `${secret}\n`);
    const receiver = await startReceiverProcess({
      args: ["--read-token-file", `${dir}/read-token`],
    });
    try {
      const open = await fetch(`${receiver.url}/metrics`);
      assertEquals(open.status, 401);
      await open.body?.cancel();
      // Prometheus' `authorization: {credentials_file: ...}`: a Bearer header.
      const scraped = await fetch(`${receiver.url}/metrics`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      assertEquals(scraped.status, 200);
      assertMatch(
        await scraped.text(),
        /hodometer_receiver_events_received_total/,
      );
      const res = await fetch(
        `${receiver.url}/track?verbose=1&data=${data(sampleEvent(1))}`,
      );
      assertEquals(await res.text(), VERBOSE_OK, "events need no token");
    } finally {
      const exit = await receiver.stop();
      assertEquals(exit.code, 0, exit.stderr);
      assert(!exit.stderr.includes(secret), "the token is never logged");
      assertMatch(exit.stderr, /the page need the read token/);
    }

    const both = await hodometer(
      [
        "receive",
        "--listen-port",
        "0",
        "--read-token-file",
        `${dir}/read-token`,
      ],
      { READ_TOKEN: secret },
    );
    assertEquals(both.code, 2, both.stderr);
    assertMatch(both.stderr, /set READ_TOKEN or READ_TOKEN_FILE, not both/);
    assert(!both.stderr.includes(secret));

    await Deno.writeTextFile(`${dir}/empty`, "\n");
    const empty = await hodometer([
      "receive",
      "--listen-port",
      "0",
      "--read-token-file",
      `${dir}/empty`,
    ]);
    assertEquals(empty.code, 2, empty.stderr);
    assertMatch(empty.stderr, /READ_TOKEN_FILE .*empty is empty/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
