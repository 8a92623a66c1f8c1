// Reading a parameter of a request's query, as URLSearchParams would (the
// first occurrence, "+" as a space, percent-decoding), without decoding the
// whole query: a `data` parameter of a kilobyte of base64 is usually taken as
// it is. Pure.

/** The value of the first parameter `name`, or null when there is none. */
export function queryParam(query: string, name: string): string | null {
  for (let at = 0; at <= query.length;) {
    let amp = query.indexOf("&", at);
    if (amp < 0) amp = query.length;
    const eq = query.indexOf("=", at);
    const keyEnd = eq >= 0 && eq < amp ? eq : amp;
    const key = query.slice(at, keyEnd);
    if (key === name || (needsDecoding(key) && formDecode(key) === name)) {
      return keyEnd === amp ? "" : formDecode(query.slice(keyEnd + 1, amp));
    }
    at = amp + 1;
  }
  return null;
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
