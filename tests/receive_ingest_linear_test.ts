// The ingestion parsers rewritten to look at each character a bounded number
// of times (query strings and form bodies, NDJSON detection) say exactly what
// the slow ones said, for any input, hostile ones included. How their work
// grows with the input is measured by the bench (`deno task bench --only
// ingest`), not here: no timing in unit tests.

import fc from "fast-check";
import { assert, assertEquals } from "./assert.ts";
import { formDecode, queryParams } from "../src/receive/ingest/query.ts";
import { decodeEvents, isNdjson } from "../src/receive/ingest/decode.ts";
import { HOSTILE_FAMILIES } from "./fixtures/hostile_inputs.ts";
import { replaceAscii } from "../src/net/replace_ascii.ts";

/** Characters that matter to a query, and a few that do not. */
const QUERY_CHARS = ["&", "=", "+", "%", "2", "B", "d", "a", "t", " ", "é"];
const query = fc.array(fc.constantFrom(...QUERY_CHARS), { maxLength: 60 })
  .map((cs) => cs.join(""));
const name = fc.constantFrom("data", "verbose", "", "d", "a+b", "é");

Deno.test("property: queryParams gives the first value of each name, as URLSearchParams does", () => {
  fc.assert(
    fc.property(query, fc.uniqueArray(name, { maxLength: 3 }), (q, names) => {
      const expected = new URLSearchParams(q);
      const found = queryParams(q, names);
      for (const n of names) assertEquals(found[n], expected.get(n), n);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("property: formDecode decodes a value as URLSearchParams does", () => {
  fc.assert(
    fc.property(query, (v) => {
      const clean = v.replaceAll("&", "").replaceAll("=", "");
      assertEquals(
        formDecode(clean),
        new URLSearchParams(`v=${clean}`).get("v"),
      );
    }),
  );
});

/** The detection it replaces (a backtracking regular expression). */
const slowIsNdjson = (text: string) => {
  const trimmed = text.trim();
  return trimmed.startsWith("{") && /\}\s*\n\s*\{/.test(trimmed);
};

Deno.test("property: NDJSON is told apart in one pass exactly as the regular expression did", () => {
  const chars = ["{", "}", "\n", " ", "\t", "\r", "\u00a0", "\u2028", "x", '"'];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...chars), { maxLength: 40 }),
      (cs) => {
        const text = cs.join("");
        assertEquals(isNdjson(text), slowIsNdjson(text), JSON.stringify(text));
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("every hostile input family of the bench is refused, at small sizes", () => {
  for (const family of HOSTILE_FAMILIES) {
    const { body, contentType } = family.make(4096);
    const decoded = decodeEvents({ data: null, body, contentType });
    if (decoded.ok) {
      // Decoded, but no event in it is one.
      assert(decoded.events.every((e) => !e.ok), `${family.name} accepted`);
    } else {
      assert(decoded.rejection.message.length > 0, family.name);
    }
    assert(body.length >= 4096, `${family.name} is ${body.length} bytes`);
  }
});

Deno.test("property: replaceAscii replaces every occurrence, in short texts and long ones", () => {
  const chars = ["+", " ", "a", "é", "😀", "-", "_"];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...chars), { maxLength: 40 }),
      fc.integer({ min: 1, max: 400 }),
      fc.constantFrom(["+", " "], [" ", "+"], ["-", "+"], ["_", "/"]),
      (cs, times, [from, to]) => {
        const text = cs.join("").repeat(times);
        assertEquals(replaceAscii(text, from, to), text.replaceAll(from, to));
      },
    ),
    { numRuns: 300 },
  );
});
