// A streamed answer (stream.ts), without sockets: pieces of bounded size made
// only as they are read, text intact across piece boundaries, and the answer
// given up when its reader stops for the idle time.

import { assert, assertEquals } from "./assert.ts";
import {
  AbandonedAnswer,
  answerStream,
  PIECE_BYTES,
} from "../src/receive/serve/stream.ts";

/** A generator of `chunks` that counts what was taken and whether it was closed. */
function source(chunks: string[]) {
  const seen = { taken: 0, closed: false };
  function* gen() {
    try {
      for (const c of chunks) {
        seen.taken++;
        yield c;
      }
    } finally {
      seen.closed = true;
    }
  }
  return { chunks: gen(), seen };
}

Deno.test("pieces are at most PIECE_BYTES, made as they are read, and add up to the text", async () => {
  // A large chunk with multi-byte characters and surrogate pairs everywhere.
  const big = "aé€😀".repeat(40_000);
  const parts = ["[", big, "", "]"];
  const { chunks, seen } = source(parts);
  let pieces = 0;
  const stream = answerStream(chunks, {
    idleMs: 5_000,
    onPiece: () => pieces++,
  });
  assertEquals(seen.taken, 0, "nothing made before the first read");
  const reader = stream.getReader();
  const out: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    assert(value.length <= PIECE_BYTES, `a piece of ${value.length} bytes`);
    out.push(value);
  }
  assertEquals(pieces, out.length);
  assert(out.length > 10);
  const text = new TextDecoder("utf-8", { fatal: true }).decode(
    new Uint8Array(out.flatMap((p) => [...p])),
  );
  assertEquals(text, parts.join(""));
  assert(seen.closed);
});

Deno.test("a reader that stops for the idle time gets AbandonedAnswer; the rest is never made", async () => {
  const { chunks, seen } = source(
    Array.from({ length: 100 }, () => "x".repeat(1000)),
  );
  let abandoned = 0;
  const stream = answerStream(chunks, {
    idleMs: 100,
    onAbandoned: () => abandoned++,
  });
  const reader = stream.getReader();
  await reader.read();
  await reader.read();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const failed = await reader.read().then(() => null, (err) => err);
  assert(failed instanceof AbandonedAnswer, String(failed));
  assertEquals(abandoned, 1);
  assert(seen.closed, "the source is closed");
  assert(seen.taken < 100, `${seen.taken} chunks made`);
});

Deno.test("a cancelled answer closes its source and leaves no timer behind", async () => {
  const { chunks, seen } = source(["a", "b", "c"]);
  let abandoned = 0;
  const reader = answerStream(chunks, {
    idleMs: 50,
    onAbandoned: () => abandoned++,
  }).getReader();
  await reader.read();
  await reader.cancel();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals(abandoned, 0);
  assert(seen.closed);
});
