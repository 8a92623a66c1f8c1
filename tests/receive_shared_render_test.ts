// Renders shared per view and store state (shared_render.ts) within the read
// budget (read_budget.ts), and the blocks they are kept in (byte_blocks.ts):
// one render for concurrent readers, a new one per state version or past
// its age, the budget's bytes given back once the last reader is done, large
// renders kept compressed, and refusals when a limit is reached.

import { assert, assertEquals } from "./assert.ts";
import { ByteBlocks } from "../src/receive/serve/byte_blocks.ts";
import { ReadBudget } from "../src/receive/serve/mod.ts";
import {
  type NoRender,
  PLAIN_MAX_BYTES,
  RenderCache,
  type RenderSource,
  type SharedRender,
} from "../src/receive/serve/shared_render.ts";

const text = (render: SharedRender) =>
  new TextDecoder().decode(
    new Uint8Array(render.body.flatMap((b) => [...b])),
  );

async function inflated(render: SharedRender): Promise<string> {
  const out = ReadableStream.from<BufferSource>(render.body).pipeThrough(
    new DecompressionStream("gzip"),
  );
  return await new Response(out).text();
}

/** A view whose renders are counted. */
function counted(chunks: () => string[], status = 200) {
  const view = {
    renders: 0,
    make: (): RenderSource => {
      view.renders++;
      return { status, chunks: chunks() };
    },
  };
  return view;
}

async function rendered(
  got: SharedRender | NoRender | Promise<SharedRender | NoRender>,
): Promise<SharedRender> {
  const r = await got;
  if ("refused" in r) throw new Error(`refused: ${r.refused}`);
  return r;
}

Deno.test("ByteBlocks: text of any characters across blocks reads back whole; a block the budget refuses stops the writing", () => {
  const held: number[] = [];
  const given: number[] = [];
  const blocks = new ByteBlocks(16, {
    take: (n) => held.push(n) > 0,
    give: (n) => given.push(n),
  });
  const pieces = ["aé€😀".repeat(7), "", "x", "😀😀😀", "z".repeat(40)];
  for (const p of pieces) assert(blocks.writeText(p));
  const out = blocks.done();
  assert(out.every((b) => b.length <= 16));
  assertEquals(
    new TextDecoder("utf-8", { fatal: true }).decode(
      new Uint8Array(out.flatMap((b) => [...b])),
    ),
    pieces.join(""),
  );
  assertEquals(blocks.size, new TextEncoder().encode(pieces.join("")).length);
  assertEquals(held.length, out.length);
  // A last block mostly empty is cut to its size, the rest given back.
  const cut = new ByteBlocks(16, {
    take: () => true,
    give: (n) => given.push(n),
  });
  given.length = 0;
  assert(cut.write(new Uint8Array(17).fill(7)));
  assertEquals(cut.done().map((b) => [b.length, b.buffer.byteLength]), [
    [16, 16],
    [1, 1],
  ]);
  assertEquals(given, [15]);

  let allowed = 2;
  const capped = new ByteBlocks(8, { take: () => allowed-- > 0, give() {} });
  assert(capped.write(new Uint8Array(16)));
  assertEquals(capped.write(new Uint8Array(1)), false);
  assertEquals(capped.size, 16);
});

Deno.test("one render for concurrent readers of a view and state; a new one for a new state or past the age", async () => {
  let clock = 1_000;
  const budget = new ReadBudget();
  const cache = new RenderCache(budget, { now: () => clock });
  const view = counted(() => ["<p>", "hello", "</p>"]);
  const first = await Promise.all(
    Array.from({ length: 50 }, () => rendered(cache.render("/", 1, view.make))),
  );
  assertEquals(view.renders, 1);
  assert(first.every((r) => r === first[0]));
  assertEquals(text(first[0]!), "<p>hello</p>");
  assertEquals(first[0]!.etag, 'W/"1-rs"');
  // The same state, asked later: the same render, at once.
  assertEquals(cache.render("/", 1, view.make, 5_000), first[0]);
  // Past its age, or at another state: rendered anew.
  clock += 5_000;
  const aged = await rendered(cache.render("/", 1, view.make, 5_000));
  assertEquals(view.renders, 2);
  const newer = await rendered(cache.render("/", 2, view.make, 5_000));
  assertEquals(view.renders, 3);
  assert(newer.etag !== aged.etag);
  // Other keys are other views.
  await rendered(cache.render("/?page=2", 2, view.make));
  assertEquals(view.renders, 4);
  assertEquals(cache.size, 2);
});

Deno.test("a render's bytes are held while it is cached or read, and given back after its last reader", async () => {
  const budget = new ReadBudget({ sharedBytes: 64 * 1024 * 1024 });
  const cache = new RenderCache(budget);
  const view = counted(() => ["x".repeat(1000)]);
  const one = await rendered(cache.render("/", 1, view.make));
  const held = budget.sharedBytes;
  assert(held >= 1000, `${held}`);
  cache.pin(one);
  cache.pin(one);
  // A newer state replaces it in the cache; its readers keep its bytes.
  await rendered(cache.render("/", 2, view.make));
  assert(budget.sharedBytes >= 2 * held - 100);
  cache.unpin(one);
  assert(budget.sharedBytes >= 2 * held - 100);
  cache.unpin(one);
  assertEquals(budget.sharedBytes, held);
});

Deno.test("the budget: renders past the cap and bytes past the limit are refused; unread renders make room", async () => {
  const block = 256 * 1024;
  const budget = new ReadBudget({ sharedBytes: 3 * block, renders: 1 });
  const cache = new RenderCache(budget);
  // Each fills most of a block (one held whole).
  const view = (c: string) => () => ({
    status: 200,
    chunks: [c.repeat(200_000)],
  });
  // A render is made a chunk at a time: the cap is reached meanwhile.
  const waiting = cache.render("/a", 1, view("a"));
  assertEquals(cache.render("/b", 1, view("b")), { refused: "renders" });
  const a = await rendered(waiting);
  cache.pin(a);
  const b = await rendered(cache.render("/b", 1, view("b")));
  cache.pin(b);
  // A third does not fit while /a and /b are read.
  assertEquals(await cache.render("/c", 1, view("c")), { refused: "bytes" });
  // Once /a is no longer read, it is retired to make room.
  cache.unpin(a);
  await rendered(cache.render("/c", 1, view("c")));
  assertEquals(cache.size, 2);
});

Deno.test("a render past PLAIN_MAX_BYTES is kept gzip-compressed; one past largestShared is not kept, and said so at that state", async () => {
  const budget = new ReadBudget();
  const cache = new RenderCache(budget);
  const line = 'seldon_usage_model_count{cluster_id="0000"} 12\n';
  const big = () => Array.from({ length: 40_000 }, (_, i) => `${i} ${line}`);
  const expected = big().join("");
  assert(expected.length > PLAIN_MAX_BYTES);
  const packed = await rendered(cache.render("/metrics", 1, () => ({
    status: 200,
    chunks: big(),
  })));
  assertEquals(packed.coding, "gzip");
  assertEquals(packed.size, expected.length);
  assertEquals(await inflated(packed), expected);
  assert(budget.sharedBytes < expected.length / 4, `${budget.sharedBytes}`);
  // Its gzip copy is the body itself.
  assertEquals(await cache.copy(packed, "gzip"), [...packed.body]);
  assertEquals(await cache.copy(packed, "br"), null);

  const small = new RenderCache(new ReadBudget({ largestShared: 1024 }));
  const huge = counted(() => ["y".repeat(600), "y".repeat(600)]);
  assertEquals(await small.render("/x", 7, huge.make), {
    refused: "too_large",
  });
  assertEquals(small.render("/x", 7, huge.make), { refused: "too_large" });
  assertEquals(huge.renders, 1, "not rendered again at the same state");
  assertEquals(await small.render("/x", 8, huge.make), {
    refused: "too_large",
  });
  assertEquals(huge.renders, 2);
});

Deno.test("compressed copies of a plain render are made once, decode to it, and count in the budget", async () => {
  const budget = new ReadBudget();
  const cache = new RenderCache(budget);
  const page = Array.from({ length: 2000 }, (_, i) => `<tr><td>${i}</td></tr>`);
  const render = await rendered(cache.render("/", 1, () => ({
    status: 200,
    chunks: page,
  })));
  assertEquals(render.coding, "identity");
  const before = budget.sharedBytes;
  cache.pin(render);
  const [g1, g2] = await Promise.all([
    cache.copy(render, "gzip"),
    cache.copy(render, "gzip"),
  ]);
  assert(g1 !== null && g1 === g2, "made once");
  const br = await cache.copy(render, "br");
  assert(br !== null);
  assert(budget.sharedBytes > before);
  for (const [coding, copy] of [["gzip", g1], ["brotli", br]] as const) {
    const out = ReadableStream.from<BufferSource>(copy).pipeThrough(
      new DecompressionStream(coding as CompressionFormat),
    );
    assertEquals(await new Response(out).text(), page.join(""));
  }
  cache.unpin(render);
});
