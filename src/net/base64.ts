// Base64, as events travel (`data=` of /track, where a query or a form may
// carry it) and as Kubernetes holds secret data.

import { replaceAscii } from "./replace_ascii.ts";

/** Standard base64 (with padding) of `bytes`: the runtime's own encoder. */
export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/**
 * Base64 in the standard or URL-safe alphabet (or a mix), padded or not; null
 * when it is not base64. Nothing else is allowed, white space included: strip
 * it first where a format allows it.
 */
export function decodeBase64(value: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return null;
  try {
    return Uint8Array.fromBase64(standardUnpadded(value));
  } catch {
    return null;
  }
}

/**
 * Base64 as a query or form value brings it: either alphabet (or a mix), any
 * padding forgiven, a `+` that form decoding turned into a space restored, and
 * other ASCII white space skipped, as base64 decoders do. Null if invalid.
 * The bytes may be a shared buffer's: read them before the next call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeFormBase64 } from "./base64.ts";
 *
 * // "+/8" as a form decoder hands it over: its "+" turned into a space
 * assert.deepEqual([...decodeFormBase64(" /8")!], [251, 255]);
 * assert.equal(decodeFormBase64("not base64!"), null);
 * ```
 */
export function decodeFormBase64(value: string): Uint8Array | null {
  const s = standardUnpadded(replaceAscii(value, " ", "+"));
  try {
    // Validates as it decodes: any other character, or a length that cannot
    // be base64, throws. Most values fit the scratch buffer (no allocation);
    // the bytes are only borrowed until the next call.
    scratch ??= new Uint8Array(SCRATCH_BYTES);
    const { read, written } = scratch.setFromBase64(s);
    if (read === s.length) return scratch.subarray(0, written);
    return Uint8Array.fromBase64(s);
  } catch {
    return null;
  }
}

const SCRATCH_BYTES = 48 * 1024;
let scratch: Uint8Array | undefined;

/** The standard alphabet, without the trailing `=`s (padding is optional). */
function standardUnpadded(value: string): string {
  const s = replaceAscii(replaceAscii(value, "-", "+"), "_", "/");
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  return end < s.length ? s.slice(0, end) : s;
}
