// The read side's answers (read_side.ts) through the receiver's routes,
// without sockets: renders shared per store state with a validator naming
// it, compressed copies that decode to the text, /metrics' own counters made
// for each scrape in front of the shared series, HEAD, and the read budget's
// limits answered 503 with Retry-After until a reader is done.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { call } from "./fixtures/receiver_call.ts";
import { seedFleet } from "./fixtures/fleet_seed.ts";
import { logger } from "../src/log/setup.ts";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import { ReadBudget, type ReadLimits } from "../src/receive/serve/mod.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import { sampleEvent } from "./receive_sample.ts";

function receiver(
  limits: Partial<ReadLimits> = {},
  options: { bodyTimeoutMs?: number } = {},
) {
  const store = createMemoryStore({ recordLevel: "all", maxEvents: 5000 });
  const r = createReceiver({
    store,
    recordLevel: "all",
    logger: logger("receive", "test"),
    reads: new ReadBudget(limits),
    bodyTimeoutMs: options.bodyTimeoutMs,
  });
  const post = async (events: unknown[]) => {
    const res = await call(r.app, "/track", {
      method: "POST",
      body: JSON.stringify(events),
      headers: { "content-type": "application/json" },
    });
    assertEquals(res.status, 200, await res.text());
  };
  const get = (path: string, headers: Record<string, string> = {}) =>
    call(r.app, path, { headers });
  return { ...r, post, get };
}

/** Events of `clusters` clusters, as hodometer publishes them. */
function fleet(clusters: number) {
  const seeded = seedFleet({ clusters, days: 1, endMs: Date.now() - 60_000 });
  return [...seeded.latest.values()].map((properties) => ({
    event: "collect metrics",
    properties,
  }));
}

async function decoded(res: Response): Promise<string> {
  const coding = res.headers.get("content-encoding");
  const body = res.body!;
  const text = coding === null ? body : body.pipeThrough(
    new DecompressionStream(
      (coding === "br" ? "brotli" : coding) as CompressionFormat,
    ),
  );
  return await new Response(text).text();
}

Deno.test("a page: its ETag names the store state it shows; If-None-Match gets 304 until the state changes", async () => {
  const r = receiver();
  await r.post([sampleEvent(1)]);
  const [a, b] = await Promise.all([r.get("/"), r.get("/")]);
  const etag = a.headers.get("etag")!;
  assertMatch(etag, /^W\/"\d+-[0-9a-z]+"$/);
  assertEquals(b.headers.get("etag"), etag, "one render for both readers");
  assertEquals(
    a.headers.get("cache-control"),
    "private, no-cache, no-transform",
  );
  assertEquals(a.headers.get("vary"), "accept-encoding");
  const html = await a.text();
  assertEquals(
    Number(a.headers.get("content-length")),
    new TextEncoder().encode(html).length,
  );
  assertEquals(await b.text(), html);

  const again = await r.get("/", { "if-none-match": etag });
  assertEquals(again.status, 304);
  assertEquals(again.headers.get("etag"), etag);
  assertEquals(await again.text(), "");
  // Another view is another render.
  const other = await r.get("/?window=all");
  assert(other.headers.get("etag") !== null);
  await other.body?.cancel();

  await r.post([sampleEvent(2, { model_count: 77 })]);
  const changed = await r.get("/", { "if-none-match": etag });
  assertEquals(changed.status, 200);
  assert(changed.headers.get("etag") !== etag);
  await changed.body?.cancel();
  assertEquals(r.reads.budget.stats.readers, 0);
});

Deno.test("compressed when the reader accepts it: br and gzip decode to the page; identity otherwise", async () => {
  const r = receiver();
  await r.post(fleet(300));
  const plain = await r.get("/", { "accept-encoding": "identity" });
  assertEquals(plain.headers.get("content-encoding"), null);
  const html = await plain.text();
  for (
    const [accept, coding] of [
      ["gzip, deflate, br", "br"],
      ["gzip", "gzip"],
      ["br;q=0.1, gzip", "gzip"],
    ] as const
  ) {
    const res = await r.get("/", { "accept-encoding": accept });
    assertEquals(res.headers.get("content-encoding"), coding, accept);
    assert(Number(res.headers.get("content-length")) < html.length / 3);
    assertEquals(await decoded(res), html, accept);
  }
  // The ETag is the render's, whatever the coding (a weak validator).
  const [x, y] = await Promise.all([
    r.get("/", { "accept-encoding": "gzip" }),
    r.get("/"),
  ]);
  assertEquals(x.headers.get("etag"), y.headers.get("etag"));
  await x.body?.cancel();
  await y.body?.cancel();
});

Deno.test("/metrics: its own counters made for each scrape in front of the shared series, also spliced into one gzip member; no ETag", async () => {
  const r = receiver();
  await r.post(fleet(50));
  const first = await r.get("/metrics", { "accept-encoding": "gzip" });
  assertEquals(first.headers.get("content-encoding"), "gzip");
  assertEquals(first.headers.get("etag"), null);
  const one = await decoded(first);
  // A refused request changes a counter, not the clusters' state.
  const refused = await call(r.app, "/track", { method: "POST", body: "{" });
  assertEquals(refused.status, 400);
  await refused.body?.cancel();
  const two = await decoded(
    await r.get("/metrics", { "accept-encoding": "gzip" }),
  );
  const rejected = (text: string) =>
    /hodometer_receiver_events_rejected_total\{reason="invalid_event"\} (\d+)/
      .exec(text)?.[1];
  assertEquals([rejected(one), rejected(two)], ["0", "1"]);
  const series = (text: string) =>
    text.slice(text.indexOf("# HELP seldon_usage_"));
  assert(series(one).length > 10_000);
  assertEquals(series(two), series(one));
  const plain = await (await r.get("/metrics")).text();
  assertEquals(series(plain), series(one));
  assertEquals(rejected(plain), "1");
});

Deno.test("/metrics past 1 MiB is kept compressed: gzip readers get it as kept, others inflated, the same text", async () => {
  const r = receiver();
  await r.post(fleet(1000));
  const gzip = await r.get("/metrics", { "accept-encoding": "gzip" });
  const plain = await r.get("/metrics");
  assertEquals(plain.headers.get("content-encoding"), null);
  const text = await plain.text();
  assert(text.length > 1024 * 1024, `${text.length} characters`);
  assertEquals(
    Number(plain.headers.get("content-length")),
    new TextEncoder().encode(text).length,
  );
  const series = (t: string) => t.slice(t.indexOf("# HELP seldon_usage_"));
  assertEquals(series(await decoded(gzip)), series(text));
  assert(r.reads.budget.sharedBytes < text.length / 3);
  assertEquals(r.reads.budget.stats.renders, 0);
});

Deno.test("HEAD: the headers of GET and no body; nothing held after", async () => {
  const r = receiver();
  await r.post([sampleEvent(1)]);
  const get = await r.get("/");
  const length = get.headers.get("content-length");
  await get.body?.cancel();
  const head = await call(r.app, "/", { method: "HEAD" });
  assertEquals(head.status, 200);
  assertEquals(head.headers.get("content-length"), length);
  assertEquals(head.body, null);
  assertEquals(r.reads.budget.stats.readers, 0);
});

Deno.test("past the readers limit: 503 with Retry-After, counted on /metrics; served again once a reader is done", async () => {
  const r = receiver({ readers: 1 });
  await r.post([sampleEvent(1)]);
  const holding = await r.get("/");
  assertEquals(holding.status, 200);
  const refused = await r.get("/");
  assertEquals(refused.status, 503);
  assertEquals(refused.headers.get("retry-after"), "1");
  assertMatch(
    await refused.text(),
    /read budget is full: 1 answers are being sent/,
  );
  await holding.body?.cancel();
  const metrics = await (await r.get("/metrics")).text();
  assertMatch(
    metrics,
    /\nhodometer_receiver_read_refused_total\{reason="readers"\} 1\n/,
  );
  assertMatch(metrics, /\nhodometer_receiver_read_answers 1\n/);
  assertEquals((await r.get("/")).status, 200);
});

Deno.test("a reader that reads nothing is given up after the idle time; its slot and render let go", async () => {
  const r = receiver({}, { bodyTimeoutMs: 200 });
  await r.post(fleet(400));
  const res = await r.get("/metrics");
  const reader = res.body!.getReader();
  await reader.read();
  assertEquals(r.reads.budget.stats.readers, 1);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const failed = await reader.read().then(() => null, (err) => err);
  assertMatch(String(failed), /read nothing of the answer for 200 ms/);
  assertEquals(r.reads.budget.stats.readers, 0);
  assertEquals(r.counters.abandonedAnswers, 1);
});

Deno.test("a render too large to share is made for each reader as it reads, at most `renders` at once", async () => {
  const r = receiver({ largestShared: 20_000, renders: 1 });
  await r.post(fleet(100));
  const first = await r.get("/metrics");
  assertEquals(first.status, 200);
  assertEquals(first.headers.get("content-length"), null);
  const busy = await r.get("/metrics");
  assertEquals(busy.status, 503);
  assertMatch(await busy.text(), /1 answers are being rendered/);
  const text = await first.text();
  assert(text.length > 20_000);
  assertMatch(text, /\nseldon_usage_model_count\{cluster_id="/);
  assertEquals(r.reads.budget.stats.renders, 0);
  assertEquals((await r.get("/metrics")).status, 200);
  assertEquals(r.reads.budget.sharedBytes, 0, "nothing kept of it");
});
