// Reading a body with a cap on its size: whatever a server (or a client)
// sends, at most `maxBytes` of it is held in memory.

/** A body read up to a cap. */
export interface BoundedBody {
  /** What was read: all of it, or the first `maxBytes` when truncated. */
  bytes: Uint8Array;
  /** More bytes followed than `maxBytes`: the rest was not read. */
  truncated: boolean;
}

/**
 * Reads at most `maxBytes` of `stream`, then cancels the rest; rejects when
 * the stream errors (e.g. on abort), cancelling it first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBounded } from "./body.ts";
 *
 * const body = new Response("a long answer").body;
 * const { bytes, truncated } = await readBounded(body, 6);
 * assert.equal(new TextDecoder().decode(bytes), "a long");
 * assert.equal(truncated, true);
 * ```
 */
export async function readBounded(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<BoundedBody> {
  if (stream === null) return { bytes: new Uint8Array(0), truncated: false };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - size));
        size = maxBytes;
        truncated = true;
        await reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { bytes, truncated };
}
