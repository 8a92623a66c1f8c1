// What a reader accepts and already has (content_coding.ts): Accept-Encoding
// by q-value, and If-None-Match by weak comparison.

import { assertEquals } from "./assert.ts";
import {
  chooseCoding,
  matchesEtag,
} from "../src/receive/serve/content_coding.ts";

Deno.test("chooseCoding: the highest q-value among those offered, the first offered on a tie, identity otherwise", () => {
  const both = ["br", "gzip"] as const;
  const cases: Array<[string | null, readonly ("br" | "gzip")[], string]> = [
    [null, both, "identity"],
    ["", both, "identity"],
    ["gzip", both, "gzip"],
    ["gzip, deflate, br", both, "br"],
    ["gzip, deflate, br, zstd", ["gzip"], "gzip"],
    ["br;q=0.5, gzip", both, "gzip"],
    ["BR;Q=1, GZIP;q=0.9", both, "br"],
    ["gzip;q=0, br;q=0", both, "identity"],
    ["*", both, "br"],
    ["*;q=0.2, br;q=0", both, "gzip"],
    ["identity", both, "identity"],
    ["deflate, zstd", both, "identity"],
    ["gzip", [], "identity"],
    ["gzip;q=abc", both, "gzip"], // an unreadable q is ignored (1)
    ["gzip;q=0.5, gzip;q=1", ["gzip"], "gzip"],
    [" , ;, gzip ; q = 0.8 ", both, "gzip"],
  ];
  for (const [header, offered, expected] of cases) {
    assertEquals(chooseCoding(header, offered), expected, `${header}`);
  }
});

Deno.test("matchesEtag: weak comparison, lists and *", () => {
  const etag = 'W/"12-abc"';
  assertEquals(matchesEtag(null, etag), false);
  assertEquals(matchesEtag('W/"12-abc"', etag), true);
  assertEquals(matchesEtag('"12-abc"', etag), true);
  assertEquals(matchesEtag('"x", W/"12-abc" ', etag), true);
  assertEquals(matchesEtag("*", etag), true);
  assertEquals(matchesEtag('W/"12-abd"', etag), false);
  assertEquals(matchesEtag('W/"13-abc"', etag), false);
  assertEquals(matchesEtag("", etag), false);
});
