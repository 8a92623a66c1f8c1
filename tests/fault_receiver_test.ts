// Fault suite, receiver side: `hodometer receive` as shipped (the binary's
// permissions and V8 flags), in `summary` and in `all` on SQLite, under every
// class of abuse found against the earlier receiver, a seeded fuzz, 60 slow
// clients and SIGTERM among slow clients. It shows that the process never
// exits, that its RssAnon stays under RSS_ANON_BOUND_KB throughout, that every
// acknowledged event is still there after a restart, that all 60 slow clients
// are timed out in time (bodies dripped: 408 at BODY_TIMEOUT; heads dripped:
// closed at HEADER_TIMEOUT; kept-alive connections left idle: closed at
// IDLE_TIMEOUT), and that SIGTERM ends it within the grace period whatever
// the clients do.
//
// The fuzz is reproducible: HODOMETER_FUZZ_SEED=<n> replays a run, and a
// failure names the seed and the index of each failing request.

import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertMatch, captured } from "./assert.ts";
import { rawRequest, readUntilClosed } from "./fixtures/raw_http.ts";
import {
  type ReceiverProcess,
  startReceiverProcess,
} from "./fixtures/receiver_process.ts";
import {
  fuzzedRequest,
  histogram,
  memoryOf,
  type Outcome,
  sendAll,
  watchMemory,
} from "./fixtures/receiver_fuzz.ts";
import { encodeEventData } from "../src/publish/event.ts";
import { fetchAllEvents, gzip, sampleEvent, utf8 } from "./receive_sample.ts";

const SEED = Number(Deno.env.get("HODOMETER_FUZZ_SEED") ?? 0x5eed2026) >>> 0;
const FUZZ_REQUESTS = 2_000;
/** The stated bound: the receiver's resident anonymous memory, at every sample. */
const RSS_ANON_BOUND_KB = 128 * 1024;
const TIMEOUT_S = 2;
const GRACE_MS = 3_000;
const SLOW_CLIENTS = 60;
const VERBOSE_OK = '{"status":1,"error":""}';
const SHIPPED_LIMITS = [
  "--body-timeout",
  `${TIMEOUT_S}s`,
  "--header-timeout",
  `${TIMEOUT_S}s`,
  "--idle-timeout",
  `${TIMEOUT_S}s`,
  "--grace-period",
  `${GRACE_MS}ms`,
];

const CLUSTER = "22d36da9-9b3a-42ec-adf7-28ca710e6183";

interface Run {
  receiver: ReceiverProcess;
  mode: "summary" | "all";
  /** distinct_id/$insert_id of every event answered 200. */
  acknowledged: Set<string>;
}

async function post(
  run: Run,
  body: BodyInit,
  headers: Record<string, string> = {},
  path = "/track?verbose=1",
): Promise<{ status: number; text: string }> {
  const res = await fetch(run.receiver.url + path, {
    method: "POST",
    body,
    headers,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, text: await res.text() };
}

/** Posts valid events; each one answered 200 is remembered. */
async function postEvents(
  run: Run,
  events: Array<{ properties: Record<string, unknown> }>,
): Promise<void> {
  const res = await post(run, JSON.stringify(events), {
    "content-type": "application/json",
  });
  assertEquals([res.status, res.text], [200, VERBOSE_OK]);
  for (const e of events) {
    run.acknowledged.add(
      `${e.properties.distinct_id}/${e.properties.$insert_id}`,
    );
  }
}

async function alive(run: Run): Promise<void> {
  await memoryOf(run.receiver.pid); // throws once the process is gone
  const res = await fetch(`${run.receiver.url}/healthz`);
  assertEquals(res.status, 200);
  await res.body?.cancel();
}

async function scrape(run: Run): Promise<string> {
  const res = await fetch(`${run.receiver.url}/metrics`);
  assertEquals(res.status, 200);
  return await res.text();
}

const sampleValue = (metrics: string, name: string, id: string) => {
  const line = metrics.split("\n").find((l) =>
    l.startsWith(`${name}{cluster_id="${id}"}`)
  );
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
};

/** An event as large as the limits allow: seven 8000-character strings. */
function largestEvent(n: number, distinctId: string) {
  const big = (c: string) => c.repeat(8000);
  return sampleEvent(n, {
    distinct_id: distinctId,
    cluster_id: distinctId,
    seldon_core_version: big("s"),
    kubernetes_version: big("k"),
    inference_server_name: big("i"),
    collector_version: big("v"),
    collector_git_commit: big("c"),
    pad1: big("p"),
    pad2: big("q"),
  });
}

/** A gzip bomb: members of 64 MiB of zeros each, 1 GiB in all, about 1 MB sent. */
async function gzipBomb(): Promise<Uint8Array> {
  const member = await gzip(new Uint8Array(64 * 1024 * 1024));
  const bomb = new Uint8Array(member.length * 16);
  for (let i = 0; i < 16; i++) bomb.set(member, i * member.length);
  return bomb;
}

/** Every class of abuse a receiver must answer, each checked for its answer. */
async function everyClass(run: Run): Promise<void> {
  const text = { "content-type": "text/plain" }; // a no-cors POST from a web page
  const json = { "content-type": "application/json" };
  const refused = async (
    name: string,
    body: BodyInit,
    status: number,
    error: RegExp,
    headers: Record<string, string> = text,
  ) => {
    const res = await post(run, body, headers);
    assertEquals(res.status, status, name);
    assertMatch(JSON.parse(res.text).error, error);
    await alive(run);
  };

  // ---- one request
  await refused(
    "200 000 nested brackets",
    "[".repeat(200_000) + "]".repeat(200_000),
    400,
    /nest deeper than 3 levels/,
  );
  const one = (extra: string) =>
    JSON.stringify(sampleEvent(1)).replace(/}}$/, `,${extra}}}`);
  await refused(
    "a 500 000-element array property",
    one(`"a":[${"0,".repeat(499_999)}0]`),
    400,
    /larger than 65536 characters/,
  );
  await refused(
    "an 8000-element array property in a small event",
    one(`"a":[${"0,".repeat(7_999)}0]`),
    400,
    /an array has more than 255 elements/,
  );
  await refused(
    "330 000 empty objects",
    `[${"{},".repeat(329_999)}{}]`,
    400,
    /a batch holds at most 2000 events/,
  );
  await refused(
    "a gzip bomb",
    await gzipBomb() as BufferSource,
    413,
    /decompressed body is over 1048576 bytes/,
    { "content-encoding": "gzip", ...json },
  );
  await refused(
    "a 2 MiB body",
    new Uint8Array(2 * 1024 * 1024).fill(0x20),
    413,
    /the body is over 1048576 bytes/,
  );

  // ---- valid events at the limits
  for (let i = 0; i < 8; i++) {
    await refused(
      "a 1 MB $insert_id",
      JSON.stringify(sampleEvent(i, { $insert_id: "i".repeat(1_000_000) })),
      400,
      /larger than 65536 characters/,
      json,
    );
  }
  // ~700 clusters with the largest allowed events.
  for (let b = 0; b < 50; b++) {
    await postEvents(
      run,
      Array.from({ length: 14 }, (_, i) => {
        const n = b * 14 + i;
        return largestEvent(n, `big-${"x".repeat(240)}-${n}`);
      }),
    );
  }
  await alive(run);
  // 10 000 small clusters, then /metrics.
  for (let b = 0; b < 5; b++) {
    await postEvents(
      run,
      Array.from(
        { length: 2000 },
        (_, i) =>
          sampleEvent(100_000 + b * 2000 + i, {
            distinct_id: `small-${b * 2000 + i}`,
          }),
      ),
    );
  }
  let metrics = await scrape(run);
  const held = Number(
    captured(/\nhodometer_receiver_clusters (\d+)\n/, metrics),
  );
  assertEquals(held, 10_000, "at most --max-clusters, the most recent");
  assertEquals(
    metrics.split("\n").filter((l) => l.startsWith("seldon_usage_model_count{"))
      .length,
    10_000,
  );
  // 30 of the largest events for one cluster, then the page.
  for (let b = 0; b < 3; b++) {
    await postEvents(
      run,
      Array.from(
        { length: 10 },
        (_, i) => largestEvent(200_000 + b * 10 + i, CLUSTER),
      ),
    );
  }
  const page = await fetch(`${run.receiver.url}/`);
  assertEquals(page.status, 200);
  const html = await page.text();
  assert(html.length < 2_000_000, `a page of ${html.length} characters`);
  assertMatch(html, /\(of 10,000 known\)/);

  // ---- /events in normal use
  const events = await fetch(`${run.receiver.url}/events?limit=5000`);
  if (run.mode === "all") {
    assertEquals(events.status, 400);
    await events.body?.cancel();
    const plain = await fetch(`${run.receiver.url}/events`);
    assertEquals((await plain.json()).length, 100);
    assertMatch(plain.headers.get("link")!, /rel="next"/);
  } else {
    assertEquals(await events.json(), [{ totalEvents: run.acknowledged.size }]);
  }

  // ---- truthful views
  const T = "truthful-0000-4000-8000-000000000001";
  await postEvents(run, [
    sampleEvent(1, { distinct_id: T, time: 9007199254740991, model_count: 1 }),
  ]);
  await postEvents(run, [sampleEvent(2, { distinct_id: T, model_count: 2 })]);
  // A re-delivery (same $insert_id) with other values changes nothing.
  const redelivered = await post(
    run,
    JSON.stringify(sampleEvent(2, { distinct_id: T, model_count: 99 })),
    json,
  );
  assertEquals(redelivered.status, 200);
  metrics = await scrape(run);
  assertEquals(sampleValue(metrics, "seldon_usage_model_count", T), 2);
  // distinct_ids differing only in control characters stay distinct series.
  await postEvents(
    run,
    ["c\u0001", "c\u0002", "c\u007f"].map((id, i) =>
      sampleEvent(i, { distinct_id: id, "any name": 1, "seldon_usage_x": 2 })
    ),
  );
  metrics = await scrape(run);
  for (const id of ["c%01", "c%02", "c%7F"]) {
    assertEquals(
      sampleValue(metrics, "seldon_usage_model_count", id) !== undefined,
      true,
      id,
    );
  }
  assert(
    !/^seldon_usage_(any|seldon_usage_x)/m.test(metrics),
    "only the catalogue",
  );
  // The de-duplication key is unambiguous.
  const before = run.acknowledged.size;
  await postEvents(run, [
    sampleEvent(1, { distinct_id: "a\u0000b", $insert_id: "c" }),
    sampleEvent(1, { distinct_id: "a", $insert_id: "b-c" }),
  ]);
  assertEquals(run.acknowledged.size, before + 2);
  const health = await (await fetch(`${run.receiver.url}/healthz`)).json();
  assertEquals(health.totalEvents, run.acknowledged.size);
  await alive(run);
}

/** A seeded fuzz of mutated requests: no 5xx, no crash. */
async function fuzz(run: Run): Promise<void> {
  const started = Date.now();
  const outcomes: Outcome[] = await sendAll(
    run.receiver.port,
    FUZZ_REQUESTS,
    (i) => fuzzedRequest(SEED, i),
  );
  console.log(
    `${run.mode}: seed ${SEED}: ${FUZZ_REQUESTS} requests in ${
      Date.now() - started
    } ms; ${histogram(outcomes)}`,
  );
  const bad = outcomes.filter((o) =>
    typeof o.answer.status !== "number"
      ? o.answer.status !== "closed"
      : o.answer.status >= 500
  );
  assertEquals(
    bad.length,
    0,
    `seed ${SEED} (replay with HODOMETER_FUZZ_SEED=${SEED}): ${bad.length} request(s) failed, first ones:\n${
      bad.slice(0, 10).map((o) =>
        `#${o.i} ${o.kind}: ${o.answer.status} ${
          JSON.stringify(o.answer.head.slice(0, 200))
        }`
      ).join("\n")
    }`,
  );
  assert(outcomes.filter((o) => o.answer.status === 400).length > 400);
  assert(outcomes.filter((o) => o.answer.status === 200).length > 50);
  await alive(run);
}

/**
 * How a slow client drips its request: a body of known length, a chunked
 * body, or its head; or sends one request and then sits idle.
 */
type Drip = "body" | "chunked" | "head" | "idle";

const DRIPS: Record<Drip, { head: string; piece: string; everyMs: number }> = {
  body: {
    head:
      "POST /track?verbose=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{",
    piece: "a",
    everyMs: 200,
  },
  // One byte a chunk, fast: Deno hands each read over in a buffer of 64 KiB.
  chunked: {
    head:
      "POST /track?verbose=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    piece: "1\r\na\r\n",
    everyMs: 20,
  },
  head: { head: "GET /track?data=", piece: "a", everyMs: 200 },
  idle: {
    head: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    piece: "",
    everyMs: 0,
  },
};

/**
 * Opens a slow client that drips its request. `closed` resolves with what it
 * was answered and when the receiver closed the connection; the client goes
 * on dripping until then, or until stop().
 */
async function slowClient(port: number, drip: Drip) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const started = Date.now();
  const { head, piece, everyMs } = DRIPS[drip];
  await conn.write(utf8(head));
  const timer = piece === "" ? undefined : setInterval(() => {
    conn.write(utf8(piece)).catch(() => {});
  }, everyMs);
  let closed = false;
  const stop = () => {
    clearInterval(timer);
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // closed by the server already
    }
  };
  const closedByReceiver = (async () => {
    const answer = await readUntilClosed(conn);
    clearInterval(timer);
    return { answer, ms: Date.now() - started };
  })();
  return { closed: closedByReceiver, stop };
}

/** Which way each of the 60 slow clients is slow: 20, 20, 10 and 10. */
const SLOW_MIX: Drip[] = Array.from(
  { length: SLOW_CLIENTS },
  (_, i) =>
    (["body", "chunked", "body", "chunked", "head", "idle"] as const)[i % 6]!,
);

const counterOf = (metrics: string, series: string) =>
  Number(
    new RegExp(`\\n${series.replace(/[{}]/g, "\\$&")} (\\d+)\\n`).exec(
      metrics,
    )?.[1] ?? NaN,
  );

/**
 * 60 slow clients are all timed out in time: those dripping a body (of known
 * length, or chunked a byte a chunk) are answered 408 at BODY_TIMEOUT, those
 * dripping a head are closed at HEADER_TIMEOUT, kept-alive ones left idle
 * after their answer are closed at IDLE_TIMEOUT; the receiver serves others
 * meanwhile.
 */
async function slowClients(run: Run): Promise<void> {
  const before = await scrape(run);
  const clients = await Promise.all(
    SLOW_MIX.map((drip) => slowClient(run.receiver.port, drip)),
  );
  const spans: Record<Drip, number[]> = {
    body: [],
    chunked: [],
    head: [],
    idle: [],
  };
  try {
    const res = await fetch(
      `${run.receiver.url}/track?verbose=1&data=${
        encodeURIComponent(encodeEventData(sampleEvent(7_000_000)))
      }`,
    );
    assertEquals(await res.text(), VERBOSE_OK, "served while 60 clients drip");
    run.acknowledged.add(`${CLUSTER}/insert-7000000`);
    const ends = await Promise.all(clients.map((c) => c.closed));
    ends.forEach((end, i) => {
      const drip = SLOW_MIX[i]!;
      if (drip === "head") {
        assertEquals(end.answer, "", "a head dripped: closed, no answer");
      } else if (drip === "idle") {
        assertMatch(end.answer, /^HTTP\/1\.1 200 OK\r\n/);
      } else {
        assertMatch(end.answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
        assertMatch(end.answer, /\r\nconnection: close\r\n/i);
      }
      assert(
        end.ms < TIMEOUT_S * 1000 + 1500,
        `a slow client (${drip}) was closed after ${end.ms} ms`,
      );
      spans[drip].push(end.ms);
    });
  } finally {
    for (const c of clients) c.stop();
  }
  const span = (ms: number[]) => `${Math.min(...ms)}–${Math.max(...ms)} ms`;
  console.log(
    `${run.mode}: ${SLOW_CLIENTS} slow clients all timed out: ${
      spans.body.length + spans.chunked.length
    } dripping bodies answered 408 and closed after ${
      span([...spans.body, ...spans.chunked])
    }, ${spans.head.length} dripping heads closed after ${
      span(spans.head)
    }, ${spans.idle.length} idle kept-alive closed after ${
      span(spans.idle)
    } (timeouts ${TIMEOUT_S} s)`,
  );
  const after = await scrape(run);
  const delta = (series: string) =>
    counterOf(after, series) - counterOf(before, series);
  assertEquals(
    delta('hodometer_receiver_events_rejected_total{reason="body_timeout"}'),
    spans.body.length + spans.chunked.length,
  );
  // Other connections of this test (its fetch pool) may time out meanwhile.
  for (
    const [reason, drip] of [["header_timeout", "head"], [
      "idle_timeout",
      "idle",
    ]] as const
  ) {
    const n = delta(
      `hodometer_receiver_connections_timed_out_total{reason="${reason}"}`,
    );
    assert(n >= spans[drip].length, `${reason}: ${n}`);
  }
  await alive(run);
}

/** SIGTERM among clients dripping heads and bodies and a request stuck mid-body: exit 0 within the grace period. */
async function stopWithinGrace(run: Run): Promise<number> {
  const clients = await Promise.all(
    Array.from(
      { length: 20 },
      (_, i) => slowClient(run.receiver.port, i % 2 ? "head" : "body"),
    ),
  );
  const stuck = await Deno.connect({
    hostname: "127.0.0.1",
    port: run.receiver.port,
  });
  await stuck.write(
    utf8("POST /track HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"),
  );
  // SIGTERM once the receiver reads all the bodies (ten of 1000 bytes, one of 100).
  const reading = 10 * 1000 + 100;
  for (let tries = 0; tries < 100; tries++) {
    const m = /\nhodometer_receiver_body_bytes_in_flight (\d+)\n/.exec(
      await scrape(run),
    );
    if (m !== null && Number(m[1]) >= reading) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  const exit = await run.receiver.stop();
  const ms = Date.now() - started;
  for (const c of clients) c.stop();
  stuck.close();
  assertEquals(exit.code, 0, exit.stderr.slice(-3000));
  assert(ms < GRACE_MS + 1500, `SIGTERM took ${ms} ms (grace ${GRACE_MS} ms)`);
  const errors = exit.stderr.split("\n").filter((l) =>
    /^\S+ \[(ERR|FTL)\]/.test(l)
  );
  assertEquals(errors, []);
  return ms;
}

async function start(
  mode: "summary" | "all",
  store?: string,
  extra: string[] = [],
) {
  return await startReceiverProcess({
    args: [
      "--record-level",
      mode,
      ...(store ? ["--store", store] : []),
      ...SHIPPED_LIMITS,
      ...extra,
    ],
  });
}

Deno.test(`receive summary: every class of abuse, a seeded fuzz (seed ${SEED}), 60 slow clients, SIGTERM within the grace period; RssAnon under ${RSS_ANON_BOUND_KB / 1024} MiB`, async () => {
  const receiver = await start("summary");
  const run: Run = { receiver, mode: "summary", acknowledged: new Set() };
  const memory = watchMemory(receiver.pid);
  try {
    await everyClass(run);
    await fuzz(run);
    await slowClients(run);
    memory.stop();
    console.log(
      `summary: peak RssAnon ${
        Math.round(memory.peakRssAnonKb / 1024)
      } MiB, VmHWM ${Math.round(memory.vmHwmKb / 1024)} MiB`,
    );
    assert(!memory.gone, "the receiver never exited");
    assert(
      memory.peakRssAnonKb < RSS_ANON_BOUND_KB,
      `peak RssAnon ${memory.peakRssAnonKb} kB`,
    );
    const ms = await stopWithinGrace(run);
    console.log(
      `summary: SIGTERM among slow clients: exit 0 after ${ms} ms (grace ${GRACE_MS} ms)`,
    );
    // The bodies on their way were awaited until their own timeout.
    assert(ms > 700, `exit after ${ms} ms`);
  } finally {
    memory.stop();
    await receiver.stop();
  }
});

Deno.test(`receive all on SQLite: every class, a fuzz, slow clients; every acknowledged event there after restarts; a store of large old events restarts; retention forgets clusters`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-fault-" });
  const path = `${dir}/events.db`;
  const acknowledged = new Set<string>();
  try {
    let receiver = await start("all", path);
    let run: Run = { receiver, mode: "all", acknowledged };
    let memory = watchMemory(receiver.pid);
    try {
      await everyClass(run);
      await fuzz(run);
      await slowClients(run);
      memory.stop();
      assert(!memory.gone, "the receiver never exited");
      console.log(
        `all: peak RssAnon ${
          Math.round(memory.peakRssAnonKb / 1024)
        } MiB, VmHWM ${Math.round(memory.vmHwmKb / 1024)} MiB`,
      );
      assert(
        memory.peakRssAnonKb < RSS_ANON_BOUND_KB,
        `peak RssAnon ${memory.peakRssAnonKb} kB`,
      );
      const ms = await stopWithinGrace(run);
      console.log(
        `all: SIGTERM among slow clients: exit 0 after ${ms} ms (grace ${GRACE_MS} ms)`,
      );
    } finally {
      memory.stop();
      await receiver.stop();
    }

    // A store written by an older receiver, holding 25 events of 1 MB each.
    const db = new DatabaseSync(path);
    try {
      const insert = db.prepare(
        `INSERT INTO events (received_at, distinct_id, insert_id, event_time, event, properties)
         VALUES (?, ?, ?, ?, ?, ?)`,
      );
      for (let i = 0; i < 25; i++) {
        const e = sampleEvent(i, {
          distinct_id: `legacy-${i % 5}`,
          $insert_id: `legacy-${i}`,
          seldon_core_version: "L".repeat(1_000_000),
          model_count: i,
        });
        insert.run(
          Date.now(),
          `legacy-${i % 5}`,
          `legacy-${i}`,
          1,
          e.event,
          JSON.stringify(e.properties),
        );
        acknowledged.add(`legacy-${i % 5}/legacy-${i}`);
      }
    } finally {
      db.close();
    }

    receiver = await start("all", path);
    run = { receiver, mode: "all", acknowledged };
    memory = watchMemory(receiver.pid);
    try {
      const stored = await fetchAllEvents(receiver.url);
      const keys = new Set(
        stored.map((e) =>
          `${e.properties.distinct_id}/${e.properties.$insert_id}`
        ),
      );
      const lost = [...acknowledged].filter((k) => !keys.has(k));
      assertEquals(lost, [], "acknowledged events missing after the restart");
      const metrics = await scrape(run);
      assertEquals(
        sampleValue(metrics, "seldon_usage_model_count", "legacy-4"),
        24,
      );
      // Its 1 MB version string is not read back into memory at all.
      assertMatch(metrics, /\nseldon_usage_info\{cluster_id="legacy-4"\} 1\n/);
      const page = await fetch(`${receiver.url}/`);
      assertEquals(page.status, 200);
      assert((await page.text()).length < 2_000_000);
      memory.stop();
      assert(
        memory.peakRssAnonKb < RSS_ANON_BOUND_KB,
        `peak RssAnon ${memory.peakRssAnonKb} kB with 1 MB events in the store`,
      );
    } finally {
      memory.stop();
      assertEquals((await receiver.stop()).code, 0);
    }

    // Retention (a minute at least): everything above is made an hour older.
    const aged = new DatabaseSync(path);
    try {
      aged.exec("UPDATE events SET received_at = received_at - 3600000");
    } finally {
      aged.close();
    }
    receiver = await start("all", path, ["--retention", "1m"]);
    try {
      await receiver.waitForLog(
        /retention: deleted \d+ event\(s\) and forgot \d+ cluster/,
      );
      const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
      assertMatch(metrics, /\nhodometer_receiver_clusters 0\n/);
      assert(
        !metrics.includes("legacy-4"),
        "a cluster past retention is gone from /metrics",
      );
      const page = await (await fetch(`${receiver.url}/`)).text();
      assert(!page.includes("legacy-4"), "and from the page");
      assertEquals(await (await fetch(`${receiver.url}/events`)).json(), []);
    } finally {
      assertEquals((await receiver.stop()).code, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("SIGTERM under load: every request answered 200 is counted, none is accepted once stopping is announced", async () => {
  const receiver = await startReceiverProcess({
    args: ["--record-level", "all", "--store", ":memory:"],
  });
  const TOTAL = 500;
  const SIGTERM_AFTER = 150;
  const postOne = (i: number) => ({
    kind: "valid POST",
    request: rawRequest(
      "POST",
      "/track?verbose=1",
      [["Content-Type", "application/json"]],
      utf8(JSON.stringify(sampleEvent(i))),
    ),
  });
  try {
    let answered200 = 0;
    let signalled = false;
    const outcomes = await sendAll(receiver.port, TOTAL, postOne, {
      inFlight: 64,
      onAnswer: (o) => {
        if (o.answer.status === 200) answered200++;
        if (answered200 >= SIGTERM_AFTER && !signalled) {
          signalled = true;
          receiver.signal("SIGTERM");
        }
      },
    });
    assert(signalled);
    await receiver.waitForLog(/SIGTERM: refusing new requests/);
    const late = await sendAll(receiver.port, 20, (i) => postOne(TOTAL + i));
    const exit = await receiver.exited();
    assertEquals(exit.code, 0, exit.stderr.slice(-4000));

    const ok = outcomes.filter((o) => o.answer.status === 200);
    for (const o of ok) {
      assert(o.answer.head.endsWith(VERBOSE_OK), o.answer.head);
    }
    // Everything else was told to come back, or found nobody listening.
    for (const o of [...outcomes, ...late]) {
      const s = o.answer.status;
      assert(
        s === 200 || s === 503 || s === "closed" || s === "error",
        `#${o.i}: ${s} ${o.answer.head}`,
      );
      if (s === 503) assertMatch(o.answer.head, /shutting down/);
    }
    assertEquals(late.filter((o) => o.answer.status === 200), []);

    const stopped = /stopped; (\d+) event\(s\) received/.exec(exit.stderr);
    assert(stopped !== null, exit.stderr.slice(-4000));
    const counted = Number(stopped[1]);
    console.log(
      `${ok.length} answered 200, ${counted} counted at exit; ${
        histogram(outcomes)
      }; after the announcement: ${histogram(late)}`,
    );
    assert(ok.length >= SIGTERM_AFTER);
    assert(
      counted >= ok.length,
      `${ok.length} requests were answered 200 but only ${counted} counted`,
    );
    const unanswered = outcomes.filter((o) => o.answer.status === "closed");
    assert(
      counted <= ok.length + unanswered.length,
      `${counted} counted, ${ok.length} answered 200, ${unanswered.length} unanswered`,
    );
    assert(ok.length < TOTAL, "the SIGTERM came in the middle of the load");
  } finally {
    await receiver.stop();
  }
});
