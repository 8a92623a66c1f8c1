// Decompressing a request body within a limit: zlib stops (and the request is
// refused) as soon as the output would pass `maxBytes`, so a small bomb never
// expands in memory. node:zlib is loaded on the first compressed body only.

import type { Rejection } from "../event/mod.ts";

/** A body decompressed, or why it is refused (415, 413 or 400). */
export type Decompressed =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; rejection: Rejection };

type Zlib = typeof import("node:zlib");
let zlib: Zlib | undefined;

/** The body as sent, decompressed by its Content-Encoding (gzip, deflate or none). */
export async function decompress(
  body: Uint8Array,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Decompressed> {
  const encoding = (contentEncoding ?? "").trim().toLowerCase();
  if (encoding === "" || encoding === "identity") {
    if (body.length > maxBytes) return tooLarge("body", maxBytes);
    return { ok: true, bytes: body };
  }
  if (encoding !== "gzip" && encoding !== "x-gzip" && encoding !== "deflate") {
    return {
      ok: false,
      rejection: {
        status: 415,
        kind: "unsupported_encoding",
        message:
          "unsupported Content-Encoding: only gzip, deflate and identity are accepted",
      },
    };
  }
  zlib ??= await import("node:zlib");
  const options = { maxOutputLength: maxBytes };
  try {
    if (encoding === "deflate") {
      try {
        return { ok: true, bytes: zlib.inflateSync(body, options) };
      } catch (err) {
        if (isTooLarge(err)) throw err;
        // Some clients send raw deflate without the zlib wrapper.
        return { ok: true, bytes: zlib.inflateRawSync(body, options) };
      }
    }
    return { ok: true, bytes: zlib.gunzipSync(body, options) };
  } catch (err) {
    if (isTooLarge(err)) return tooLarge("decompressed body", maxBytes);
    return {
      ok: false,
      rejection: {
        status: 400,
        kind: "unreadable_body",
        message: `the body could not be read as ${encoding} data`,
      },
    };
  }
}

const isTooLarge = (err: unknown) =>
  err instanceof RangeError ||
  (err as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE";

const tooLarge = (what: string, limit: number): Decompressed => ({
  ok: false,
  rejection: {
    status: 413,
    kind: "too_large",
    message: `request too large: the ${what} is over ${limit} bytes`,
  },
});
