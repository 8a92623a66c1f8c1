// Reading one Kubernetes API answer as it streams: each chunk is charged to
// the collection's byte budget, then pushed through a JsonPicker that keeps
// only what the caller's Pick names (a list's items are handed over one by
// one). Nothing holds the answer whole: a huge, endless or malformed answer
// costs the picker's fixed state, and is cut off by the answer's own cap, the
// budget, or its first byte that is not JSON.

import { JsonPicker, type OnItem, type Pick } from "./json_pick.ts";
import type { ReadBudget } from "./read_budget.ts";
import { formatBytes, MiB } from "../runtime/units.ts";

/** How one answer is read. */
export interface AnswerOptions {
  /** What is kept of the answer. */
  pick: Pick;
  /** Each element of the answer's `items` (when the Pick has them), as read. */
  onItem?: OnItem;
  /** Most bytes of this answer, whatever is left of the budget. */
  maxBytes: number;
  /** Most bytes kept outside items (default: maxBytes, capped at 64 MiB). */
  maxKeptBytes?: number;
  /** The collection's budget, charged with every chunk read. */
  budget: ReadBudget;
  /** Budget bytes this read must leave to others (lists: objectReserve). */
  leaveBytes?: number;
  /** Frees spent chunks of a stream that is not a byte stream, every RELEASE_EVERY_BYTES (default scavenge). */
  release?: () => void;
  /** The read, in messages and the budget's account, e.g. `GET /api/v1/nodes`. */
  what: string;
}

/** Why an answer was not read to its end. */
export type AnswerFailure = "too large" | "budget" | "malformed";

/** What was read of an answer. */
export type AnswerRead =
  | { ok: true; body: unknown; stopped: boolean; bytes: number }
  | { ok: false; failure: AnswerFailure; message: string; bytes: number };

/**
 * A default reader of a fetch body gets each chunk (16 KiB of TLS record)
 * in a new 64 KiB buffer outside V8's heap, which V8 frees only when it
 * collects, and reading allocates too little to make it: an endless answer
 * held ~64 MiB of spent chunks. So a body is read into one buffer of ours
 * (a BYOB reader: fetch bodies are byte streams), and a stream that is not
 * one is followed by a scavenge (well under a millisecond with the shipped
 * 1 MB semi-spaces) every RELEASE_EVERY_BYTES.
 */
const RELEASE_EVERY_BYTES = 256 * 1024;
const READ_BUFFER_BYTES = 64 * 1024;

/** A scavenge, when the runtime exposes gc (the shipped --expose-gc). */
function scavenge(): void {
  (globalThis as { gc?: (o: { type: "minor" }) => void }).gc?.({
    type: "minor",
  });
}

/** Chunks of a body, each valid until the next read. */
interface Chunks {
  next(): Promise<Uint8Array | undefined>;
  cancel(): Promise<void>;
  releaseLock(): void;
}

function chunksOf(
  stream: ReadableStream<Uint8Array>,
  release: () => void,
): Chunks {
  const cancelling = (r: { cancel(): Promise<void> }) => () =>
    r.cancel().catch(() => {});
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    // not a byte stream (e.g. node:http's, on an insecure kubeconfig)
  }
  if (byob !== undefined) {
    const reader = byob;
    let buffer = new Uint8Array(READ_BUFFER_BYTES);
    return {
      async next() {
        const { done, value } = await reader.read(buffer);
        if (done || value === undefined) return undefined;
        buffer = new Uint8Array(value.buffer);
        return value;
      },
      cancel: cancelling(reader),
      releaseLock: () => reader.releaseLock(),
    };
  }
  const reader = stream.getReader();
  let unreleased = 0;
  return {
    async next() {
      const { done, value } = await reader.read();
      if (done) return undefined;
      unreleased += value.length;
      if (unreleased >= RELEASE_EVERY_BYTES) {
        unreleased = 0;
        release();
      }
      return value;
    },
    cancel: cancelling(reader),
    releaseLock: () => reader.releaseLock(),
  };
}

/** Bytes read so far of an answer still being read (for a timeout's message). */
export interface AnswerProgress {
  /** Bytes read so far. */
  bytes: number;
}

/**
 * Reads `stream` through a picker. A stream that errors (an abort, a broken
 * connection) rejects, after cancelling; `progress` says how far it got.
 */
export async function readJsonAnswer(
  stream: ReadableStream<Uint8Array> | null,
  options: AnswerOptions,
  progress: AnswerProgress = { bytes: 0 },
): Promise<AnswerRead> {
  const picker = new JsonPicker({
    pick: options.pick,
    onItem: options.onItem,
    maxKeptBytes: options.maxKeptBytes ??
      Math.min(options.maxBytes, 64 * MiB),
  });
  if (stream === null) return finished(picker, options, 0);
  const chunks = chunksOf(stream, options.release ?? scavenge);
  try {
    while (true) {
      const chunk = await chunks.next();
      if (chunk === undefined) {
        return finished(picker, options, progress.bytes);
      }
      const cut = cutOff(chunk.length, progress.bytes, options);
      if (cut) {
        await chunks.cancel();
        return cut;
      }
      progress.bytes += chunk.length;
      const status = picker.push(chunk);
      if (status === "more") continue;
      await chunks.cancel();
      if (status === "stopped") {
        return finished(picker, options, progress.bytes);
      }
      return malformed(options.what, status.error, progress.bytes);
    }
  } catch (e) {
    await chunks.cancel();
    throw e;
  } finally {
    chunks.releaseLock();
  }
}

/** The failure when `n` more bytes would pass the answer's cap or the budget. */
function cutOff(
  n: number,
  read: number,
  o: AnswerOptions,
): AnswerRead | undefined {
  if (read + n > o.maxBytes) {
    return {
      ok: false,
      failure: "too large",
      message: `${o.what}: the answer is larger than ${
        formatBytes(o.maxBytes)
      } (cut off there)`,
      bytes: read,
    };
  }
  if (o.budget.take(n, o.what, o.leaveBytes)) return undefined;
  return {
    ok: false,
    failure: "budget",
    message: `${o.what}: cut off after ${formatBytes(read)} of its answer: ${
      o.budget.explain(o.leaveBytes)
    }`,
    bytes: read,
  };
}

function finished(
  picker: JsonPicker,
  o: AnswerOptions,
  bytes: number,
): AnswerRead {
  const result = picker.finish();
  return result.ok
    ? { ok: true, body: result.value, stopped: result.stopped, bytes }
    : malformed(o.what, result.error, bytes);
}

function malformed(what: string, error: string, bytes: number): AnswerRead {
  return {
    ok: false,
    failure: "malformed",
    message: `${what}: the answer ${error}`,
    bytes,
  };
}
