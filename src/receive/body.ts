// Reading a request body within limits: refused by its Content-Length before
// anything is read, counted chunk by chunk when it streams (chunked encoding),
// and counted again after gzip/deflate decompression so a small bomb cannot
// expand into memory.

import type { Rejection } from "./decode.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface BodyLimits {
  /** Most bytes accepted on the wire. */
  maxBytes: number;
  /** Most bytes accepted after decompression. */
  maxDecodedBytes: number;
}

type Bytes = Uint8Array<ArrayBuffer>;

export type BodyRead =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; rejection: Rejection };

class TooLarge extends Error {
  constructor(readonly what: string, readonly limit: number) {
    super(`${what} is larger than ${limit} bytes`);
  }
}

const tooLarge = (what: string, limit: number): BodyRead => ({
  ok: false,
  rejection: {
    status: 413,
    kind: "too_large",
    message: `request too large: the ${what} is over ${limit} bytes`,
  },
});

const DECOMPRESSORS: Record<string, CompressionFormat | null> = {
  "": null,
  identity: null,
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate",
};

export async function readLimitedBody(
  request: Request,
  limits: BodyLimits,
): Promise<BodyRead> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limits.maxBytes) {
    await request.body?.cancel().catch(() => {});
    return tooLarge("body", limits.maxBytes);
  }
  const encoding = (request.headers.get("content-encoding") ?? "").trim()
    .toLowerCase();
  if (!(encoding in DECOMPRESSORS)) {
    await request.body?.cancel().catch(() => {});
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
  if (request.body === null) return { ok: true, bytes: new Uint8Array(0) };

  let stream = request.body.pipeThrough(
    countingStream("body", limits.maxBytes),
  );
  const format = DECOMPRESSORS[encoding];
  if (format) {
    stream = stream
      .pipeThrough(new DecompressionStream(format))
      .pipeThrough(
        countingStream("decompressed body", limits.maxDecodedBytes),
      );
  }
  try {
    return { ok: true, bytes: await collect(stream) };
  } catch (err) {
    if (err instanceof TooLarge) return tooLarge(err.what, err.limit);
    return {
      ok: false,
      rejection: {
        status: 400,
        kind: "unreadable_body",
        message: format
          ? `the body could not be read as ${encoding} data`
          : "the body could not be read",
      },
    };
  }
}

/** Passes chunks through until more than `limit` bytes have gone by, then fails. */
function countingStream(
  what: string,
  limit: number,
): TransformStream<Bytes, Bytes> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > limit) throw new TooLarge(what, limit);
      controller.enqueue(chunk);
    },
  });
}

async function collect(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    length += chunk.byteLength;
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
