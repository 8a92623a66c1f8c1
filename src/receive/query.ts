// Reading a parameter of a request's query, as URLSearchParams would (the
// first occurrence, "+" as a space, percent-decoding), without decoding the
// whole query: a `data` parameter of a kilobyte of base64 is usually taken as
// it is. Pure.

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
  for (let at = 0; at <= query.length && missing > 0;) {
    let amp = query.indexOf("&", at);
    if (amp < 0) amp = query.length;
    let eq = query.indexOf("=", at);
    if (eq < 0 || eq > amp) eq = amp;
    let key = query.slice(at, eq);
    if (needsDecoding(key)) key = formDecode(key);
    for (const name of names) {
      if (name !== key) continue;
      if (found[name] === null) {
        found[name] = eq === amp ? "" : formDecode(query.slice(eq + 1, amp));
        missing--;
      }
      break;
    }
    at = amp + 1;
  }
  return found;
}

const needsDecoding = (s: string) => s.includes("%") || s.includes("+");

/** application/x-www-form-urlencoded decoding of one value. */
export function formDecode(value: string): string {
  if (!needsDecoding(value)) return value;
  const spaced = value.includes("+") ? value.replaceAll("+", " ") : value;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Malformed escapes stay as they are, as URLSearchParams leaves them.
    return new URLSearchParams(`v=${value}`).get("v") ?? value;
  }
}
