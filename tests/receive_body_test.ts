// Reading a request body within limits (body.ts), without sockets: the size
// limit by Content-Length and while reading, the shared byte budget, the
// deadline, and a body cut off; the stream is cancelled and the budget given
// back in every refusal.

import { assert, assertEquals } from "./assert.ts";
import {
  BodyBudget,
  type BodyLimits,
  readBody,
} from "../src/receive/ingest/mod.ts";

/** A body stream that hands out `chunks` (then ends, or stalls), and records a cancel. */
function body(chunks: Uint8Array[], end: "close" | "stall" | "error") {
  let cancelled = false;
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) return controller.enqueue(chunks[i++]);
      if (end === "close") controller.close();
      if (end === "error") controller.error(new Error("connection reset"));
      // "stall": nothing more, ever.
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, cancelled: () => cancelled, pulled: () => i };
}

const post = (stream: ReadableStream<Uint8Array>, length?: number) =>
  new Request("http://receiver.test/track", {
    method: "POST",
    body: stream,
    headers: length === undefined ? {} : { "content-length": String(length) },
  });

const bytes = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);

const limits = (over: Partial<BodyLimits> = {}): BodyLimits => ({
  budget: new BodyBudget(100_000),
  maxBytes: 1000,
  timeoutMs: 5_000,
  ...over,
});

Deno.test("a body within the limits is read whole, and holds its bytes of the budget until released", async () => {
  for (const length of [300, undefined]) {
    const l = limits();
    const b = body([bytes(100, 0x31), bytes(200, 0x32)], "close");
    const read = await readBody(post(b.stream, length), l);
    assert(read.ok, `length ${length}`);
    assertEquals(read.bytes.length, 300);
    assertEquals([read.bytes[0], read.bytes[299]], [0x31, 0x32]);
    // The body's own buffer: its length, or the room made for it to come in.
    assert(read.reserved >= 300 && read.reserved < 20_000, `${read.reserved}`);
    assertEquals(l.budget.bytes, read.reserved);
    assertEquals(l.budget.reading, 0);
    l.budget.release(read.reserved);
    assertEquals(l.budget.bytes, 0);
  }
  const none = await readBody(new Request("http://receiver.test/"), limits());
  assert(none.ok);
  assertEquals([none.bytes.length, none.reserved], [0, 0]);
});

Deno.test("a Content-Length over the limit is refused 413 before anything is read", async () => {
  const l = limits();
  const b = body([bytes(1000), bytes(1000)], "close");
  const read = await readBody(post(b.stream, 2000), l);
  assert(!read.ok);
  assertEquals(read.rejection.status, 413);
  assertEquals(
    read.rejection.message,
    "request too large: the body is over 1000 bytes",
  );
  assertEquals(b.pulled(), 0);
  assert(b.cancelled());
  assertEquals(l.budget.bytes, 0);
});

Deno.test("a body without a length is refused 413 as soon as it passes the limit", async () => {
  const l = limits();
  const b = body([bytes(600), bytes(600), bytes(600)], "close");
  const read = await readBody(post(b.stream), l);
  assert(!read.ok);
  assertEquals(read.rejection.status, 413);
  assertEquals(b.pulled(), 2, "not read past the chunk that passed the limit");
  assert(b.cancelled());
  assertEquals(l.budget.bytes, 0);
});

Deno.test("bodies past the shared budget are refused 503, by Content-Length or while read", async () => {
  const budget = new BodyBudget(30_000);
  const l = limits({ budget, maxBytes: 50_000 });
  const first = await readBody(
    post(body([bytes(10_000)], "close").stream, 10_000),
    l,
  );
  assert(first.ok);
  assertEquals(budget.bytes, 10_000);

  const declared = body([bytes(25_000)], "close");
  const second = await readBody(post(declared.stream, 25_000), l);
  assert(!second.ok);
  assertEquals([second.rejection.status, second.rejection.kind], [503, "busy"]);
  assertEquals(declared.pulled(), 0);
  assert(declared.cancelled());

  // Without a length the body's room grows as it comes, until the budget has none.
  const streamed = body([bytes(10_000), bytes(10_000)], "close");
  const third = await readBody(post(streamed.stream), l);
  assert(!third.ok);
  assertEquals(third.rejection.status, 503);
  assertEquals(streamed.pulled(), 2);
  assert(streamed.cancelled());
  assertEquals(
    budget.bytes,
    10_000,
    "what the refused bodies held is given back",
  );

  budget.release(first.reserved);
  const again = await readBody(
    post(body([bytes(25_000)], "close").stream, 25_000),
    l,
  );
  assert(again.ok);
});

Deno.test("a body that does not arrive within the deadline is refused 408 and cancelled", async () => {
  const l = limits({ timeoutMs: 100 });
  const b = body([bytes(10)], "stall");
  const started = Date.now();
  const pending = readBody(post(b.stream, 500), l);
  assertEquals(l.budget.reading, 1);
  const read = await pending;
  const ms = Date.now() - started;
  assert(!read.ok);
  assertEquals(read.rejection.status, 408);
  assertEquals(read.rejection.kind, "body_timeout");
  assertEquals(
    read.rejection.message,
    "request body not received within 100 ms",
  );
  assert(ms >= 90 && ms < 2000, `${ms} ms`);
  assert(b.cancelled());
  assertEquals([l.budget.bytes, l.budget.reading], [0, 0]);
});

Deno.test("a body in many small pieces is held in one buffer, not in the pieces' own", async () => {
  // As Deno hands a body over when it comes a few bytes at a time: each piece
  // a view of a 64 KiB buffer.
  const pieces = Array.from(
    { length: 200 },
    () => new Uint8Array(new ArrayBuffer(64 * 1024), 0, 3).fill(0x62),
  );
  for (const length of [600, undefined]) {
    const l = limits();
    const read = await readBody(post(body(pieces, "close").stream, length), l);
    assert(read.ok);
    assertEquals(read.bytes.length, 600);
    assert(
      read.bytes.buffer.byteLength < 20_000,
      `${read.bytes.buffer.byteLength} bytes held for 600`,
    );
    assertEquals(read.reserved, read.bytes.buffer.byteLength);
    assertEquals(l.budget.bytes, read.reserved);
  }
});

Deno.test("a byte stream (as Deno streams a body) is read into the body's own buffer, never into one of 64 KiB a read", async () => {
  for (const length of [600, undefined]) {
    const views: number[] = [];
    let sent = 0;
    // As Deno's body streams: 64 KiB a read unless the reader brings a view.
    const stream = new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 64 * 1024,
      pull(controller) {
        const request = controller.byobRequest!;
        const view = request.view as Uint8Array;
        views.push(view.buffer.byteLength);
        if (sent === 600) {
          controller.close();
          request.respond(0);
          return;
        }
        const n = Math.min(3, view.length);
        view.fill(0x63, 0, n);
        sent += n;
        request.respond(n);
      },
    });
    const l = limits();
    const read = await readBody(post(stream, length), l);
    assert(read.ok, `length ${length}`);
    assertEquals(read.bytes.length, 600);
    assert(read.bytes.every((b) => b === 0x63));
    assert(views.length >= 200);
    assert(
      views.every((size) => size < 20_000),
      `buffers of ${Math.max(...views)} bytes read into`,
    );
    assertEquals(l.budget.bytes, read.reserved);
  }
});

Deno.test("a body cut off, or shorter than its Content-Length, is 400 and gives its bytes back", async () => {
  const l = limits();
  const cut = await readBody(post(body([bytes(10)], "error").stream, 50), l);
  assert(!cut.ok);
  assertEquals([cut.rejection.status, cut.rejection.kind], [
    400,
    "unreadable_body",
  ]);
  const short = await readBody(post(body([bytes(10)], "close").stream, 50), l);
  assert(!short.ok);
  assertEquals(short.rejection.status, 400);
  assertEquals([l.budget.bytes, l.budget.reading], [0, 0]);
});
