// Reading a parameter of a request's query, as URLSearchParams would (the
// first occurrence, "+" as a space, percent-decoding), without decoding the
// whole query: a `data` parameter of a kilobyte of base64 is usually taken as
// it is. Pure.
//
// Linear in the query's length whatever it holds: each character is looked at
// a bounded number of times. (Looking for the "=" of every parameter up to the
// query's end cost a megabyte of "&" 10^12 steps: seconds of CPU per request.)

import { replaceAscii } from "../../net/replace_ascii.ts";

/** The value of the first parameter `name`, or null when there is none. */
export function queryParam(query: string, name: string): string | null {
  return queryParams(query, [name])[name] ?? null;
}

/** The first value of each of `names` (null when absent), in one pass. */
export function queryParams<N extends string>(
  query: string,
  names: readonly N[],
): Record<N, string | null> {
  const found = {} as Record<N, string | null>;
  for (const name of names) found[name] = null;
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
    const i = amp > at ? names.indexOf(keyOf(query, at, eq) as N) : -1;
    if (i >= 0 && found[names[i]!] === null) {
      found[names[i]!] = eq === amp ? "" : query.slice(eq + 1, amp);
      missing--;
    }
    at = amp + 1;
  }
  // Values are decoded once found, outside the loop.
  for (const name of names) {
    const raw = found[name];
    if (raw) found[name] = formDecode(raw);
  }
  return found;
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
