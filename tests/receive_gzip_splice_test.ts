// One gzip member of fresh bytes followed by a body compressed once
// (gzip_splice.ts): any client's gunzip reads back exactly the two, and the
// CRC-32 arithmetic agrees with computing it over the whole.

import fc from "fast-check";
import { assert, assertEquals } from "./assert.ts";
import {
  crc32,
  crc32Combine,
  gzipParts,
  spliceGzip,
} from "../src/receive/serve/gzip_splice.ts";
import { gzip } from "./receive_sample.ts";

async function gunzip(chunks: readonly Uint8Array[]): Promise<Uint8Array> {
  const out = ReadableStream.from<BufferSource>(
    chunks as Uint8Array<ArrayBuffer>[],
  )
    .pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/** Bytes cut into pieces at the given places, as the runtime hands a compressed copy over. */
function pieces(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((
    a,
    b,
  ) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    out.push(bytes.subarray(from, to));
    from = to;
  }
  return out;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

Deno.test("crc32 is gzip's (a known value) and crc32Combine equals the CRC of the concatenation", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  fc.assert(
    fc.property(fc.uint8Array(), fc.uint8Array({ maxLength: 5000 }), (a, b) => {
      assertEquals(
        crc32Combine(crc32(a), crc32(b), b.length),
        crc32(concat(a, b)),
      );
    }),
    { numRuns: 300 },
  );
});

Deno.test("a spliced member gunzips to the fresh bytes then the body, whatever the sizes and however the copy is cut", async () => {
  await fc.assert(
    fc.asyncProperty(
      // Fresh text past one stored block (65 535 bytes) now and then.
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 65_000, max: 140_000 }).map((n) =>
          new Uint8Array(n).map((_, i) => i % 251)
        ),
      ),
      fc.oneof(
        fc.uint8Array({ maxLength: 3000 }),
        fc.string({ maxLength: 20_000 }).map((s) =>
          new TextEncoder().encode(s)
        ),
      ),
      fc.array(fc.nat(), { maxLength: 6 }),
      async (fresh, body, cuts) => {
        const member = await gzip(body);
        const parts = gzipParts(pieces(member, cuts));
        assert(parts !== null);
        assertEquals(parts.size, body.length);
        assertEquals(
          await gunzip(spliceGzip(fresh, parts)),
          concat(fresh, body),
        );
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("gzipParts refuses what is not a plain gzip member", async () => {
  const member = await gzip(new TextEncoder().encode("some text"));
  assertEquals(gzipParts([]), null);
  assertEquals(gzipParts([member.subarray(0, 12)]), null);
  const named = member.slice();
  named[3] = 0x08; // FNAME: a header longer than 10 bytes
  assertEquals(gzipParts([named]), null);
  const deflate = member.slice();
  deflate[0] = 0x78;
  assertEquals(gzipParts([deflate]), null);
  assert(gzipParts([member]) !== null);
});
