// A client's text made safe to show a person: every character that would act
// rather than show (controls such as NUL and ESC, format characters such as
// the bidirectional overrides U+202E and U+2066, zero-width ones, line and
// paragraph separators, lone surrogates) becomes a visible escape, `\u202E`,
// `\u0000`, or `\u{E0001}` above U+FFFF. Everything else stays as it is. Pure.

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** The escape shown for one code point: `\u` and four hex digits, or `\u{…}` above U+FFFF. */
function visibleEscape(codePoint: number): string {
  const hex = codePoint.toString(16).toUpperCase();
  return codePoint > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, "0")}`;
}

/**
 * `text` with every invisible or acting character as a visible escape: what
 * a page, a log line or an error message shows of a client's text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visible } from "./mod.ts";
 *
 * // A right-to-left override would reverse what follows it on the page.
 * assert.equal(visible("prod\u202Eved"), "prod\\u202Eved");
 * assert.equal(visible("plain text"), "plain text");
 * ```
 */
export function visible(text: string): string {
  INVISIBLE.lastIndex = 0;
  if (!INVISIBLE.test(text)) return text;
  return text.replace(INVISIBLE, (c) => visibleEscape(c.codePointAt(0)!));
}
