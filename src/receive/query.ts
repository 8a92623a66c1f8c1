// Reading a parameter of a request's query, as URLSearchParams would (the
// first occurrence, "+" as a space, percent-decoding), without decoding the
// whole query: a `data` parameter of a kilobyte of base64 is usually taken as
// it is. Pure.
//
// Linear in the query's length whatever it holds: each character is looked at
// a bounded number of times. (Looking for the "=" of every parameter up to the
// query's end cost a megabyte of "&" 10^12 steps: seconds of CPU per request.)

import { replaceAscii } from "../net/replace_ascii.ts";

/** The value of the first parameter `name`, or null when there is none. */
export function queryParam(query: string, name: string): string | null {
  return queryParams(query, [name])[name] ?? null;
}

/** The first value of each of `names` (null when absent), in one pass. */
export function queryParams<N extends string>(
  query: string,
  names: readonly N[],
): Record<N, string | null> {
  const spans = findParams(query, names);
  const found = {} as Record<N, string | null>;
  names.forEach((name, i) => {
    const eq = spans[2 * i]!;
    const end = spans[2 * i + 1]!;
    found[name] = eq < 0 ? null : eq === end ? "" : formDecode(
      query.slice(eq + 1, end),
    );
  });
  return found;
}

/**
 * Where the first value of each name lies: for name i, [2i] is its "=" (its
 * value's end when it has none; -1 when the name is absent) and [2i + 1] the
 * value's end. Values are decoded afterwards, outside this loop.
 */
function findParams(query: string, names: readonly string[]): Int32Array {
  const spans = new Int32Array(2 * names.length).fill(-1);
  let missing = names.length;
  // The next "=" at or after `at` (-1: none left; UNKNOWN before the first
  // look), looked for again only once `at` has passed it. (Looked for before
  // the loop, V8's optimizing compiler was seen to repeat the look in every
  // round: quadratic again.)
  let nextEq = UNKNOWN;
  for (let at = 0; at <= query.length && missing > 0;) {
    let amp = query.indexOf("&", at);
    if (amp < 0) amp = query.length;
    if (nextEq === UNKNOWN || (nextEq >= 0 && nextEq < at)) {
      nextEq = query.indexOf("=", at);
    }
    const eq = nextEq >= 0 && nextEq < amp ? nextEq : amp;
    // An empty parameter ("&&") has no name, not the empty one.
    const i = amp > at ? names.indexOf(keyOf(query, at, eq)) : -1;
    if (i >= 0 && spans[2 * i] === -1) {
      spans[2 * i] = eq;
      spans[2 * i + 1] = amp;
      missing--;
    }
    at = amp + 1;
  }
  return spans;
}

/** The decoded name of the parameter in [at, eq). */
function keyOf(query: string, at: number, eq: number): string {
  const key = query.slice(at, eq);
  return needsDecoding(key) ? formDecode(key) : key;
}

const UNKNOWN = -2;

const needsDecoding = (s: string) => s.includes("%") || s.includes("+");

/** application/x-www-form-urlencoded decoding of one value. */
export function formDecode(value: string): string {
  if (!needsDecoding(value)) return value;
  const spaced = replaceAscii(value, "+", " ");
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Malformed escapes stay as they are, as URLSearchParams leaves them.
    return new URLSearchParams(`v=${value}`).get("v") ?? value;
  }
}
