// The shared network helpers (src/net/): a body read within a cap, host
// literals, base64. Pure or over in-memory streams: no sockets.

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { readBounded } from "../src/net/body.ts";
import { hostForAddress, isIpLiteral } from "../src/net/host.ts";
import { decodeBase64, encodeBase64 } from "../src/net/base64.ts";

/** A stream of the given chunks; `cancelled` says whether the reader gave up. */
function chunks(...parts: number[][]) {
  const state = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(new Uint8Array(p));
      controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

Deno.test("readBounded: up to the cap is whole; one byte more is cut and the rest cancelled", async () => {
  const exact = chunks([1, 2], [3, 4]);
  assertEquals(await readBounded(exact.stream, 4), {
    bytes: new Uint8Array([1, 2, 3, 4]),
    truncated: false,
  });
  const over = chunks([1, 2], [3, 4, 5], [6]);
  assertEquals(await readBounded(over.stream, 4), {
    bytes: new Uint8Array([1, 2, 3, 4]),
    truncated: true,
  });
  assert(over.state.cancelled, "the rest of the stream was cancelled");
  assertEquals(await readBounded(null, 4), {
    bytes: new Uint8Array(0),
    truncated: false,
  });
});

Deno.test("readBounded: a stream that fails rejects", async () => {
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("connection reset"));
    },
  });
  await assertRejects(() => readBounded(failing, 10), /connection reset/);
});

Deno.test("hostForAddress brackets IPv6 literals only; isIpLiteral tells addresses from names", () => {
  assertEquals(hostForAddress("::1"), "[::1]");
  assertEquals(hostForAddress("[fd00::1]"), "[fd00::1]");
  assertEquals(hostForAddress("10.0.0.1"), "10.0.0.1");
  assertEquals(hostForAddress("seldon-scheduler"), "seldon-scheduler");
  for (const ip of ["10.0.0.1", "::1", "[fd00::1]", "fe80::1%eth0"]) {
    assert(isIpLiteral(ip), ip);
  }
  for (const name of ["seldon-scheduler", "kind-control-plane", "a.b.c"]) {
    assert(!isIpLiteral(name), name);
  }
});

Deno.test("base64: round trip, both alphabets, padding optional, anything else refused", () => {
  const bytes = new Uint8Array([0, 251, 255, 62, 63, 10]);
  const standard = encodeBase64(bytes);
  assertEquals(standard, "APv/Pj8K");
  assertEquals(decodeBase64(standard), bytes);
  assertEquals(decodeBase64("APv_Pj8K"), bytes);
  assertEquals(decodeBase64("aGk="), new TextEncoder().encode("hi"));
  assertEquals(decodeBase64("aGk"), new TextEncoder().encode("hi"));
  assertEquals(decodeBase64(""), new Uint8Array(0));
  for (const bad of ["a", "aGk===", "aG k=", "aGk\n", "a*bc"]) {
    assertEquals(decodeBase64(bad), null, JSON.stringify(bad));
  }
  const large = new Uint8Array(100_000).map((_, i) => i % 256);
  assertEquals(decodeBase64(encodeBase64(large)), large);
});
