// Reading a request body within a size limit, a deadline and a byte budget
// shared by every request.
//
// Deno's HTTP server hands a body over as a stream and bounds neither its size nor how
// long it may take to arrive. Here a body is refused (413) past `maxBytes`: by
// its Content-Length before anything is read when it has one, else while it is
// read. It is refused (503) when the bodies being read or handled would hold
// more than the budget together, and given up (408) when it has not arrived
// within `timeoutMs` of the request. The stream is cancelled in every refusal.
//
// Deno reads a streamed body into a buffer of 64 KiB per read unless the
// reader brings its own, and hands each piece over as a view of that buffer:
// a body that comes a few bytes at a time would make (and, if its pieces were
// kept, hold) 64 KiB a byte. So the body is read into its own buffer (a BYOB
// reader: Deno writes into it), which is what is reserved. Bodies Deno already
// has whole come as one piece, and are taken as they are.

import type { Rejection } from "../event/mod.ts";

/** The bytes of request bodies being read or handled, together. */
export class BodyBudget {
  /** Bytes reserved now. */
  bytes = 0;
  /** Bodies being read now (a shutdown waits for them). */
  reading = 0;

  constructor(readonly maxBytes: number) {}

  reserve(n: number): boolean {
    if (this.bytes + n > this.maxBytes) return false;
    this.bytes += n;
    return true;
  }

  release(n: number): void {
    this.bytes -= n;
  }
}

export interface BodyLimits {
  budget: BodyBudget;
  /** Most bytes of one body on the wire. */
  maxBytes: number;
  /** Time the whole body has to arrive, from the call. */
  timeoutMs: number;
}

/** The body, with the bytes it holds of the budget: give them back with `budget.release(reserved)`. */
export type BodyRead =
  | { ok: true; bytes: Uint8Array; reserved: number }
  | { ok: false; rejection: Rejection };

const EMPTY = new Uint8Array(0);

const tooLarge = (maxBytes: number): BodyRead => ({
  ok: false,
  rejection: {
    status: 413,
    kind: "too_large",
    message: `request too large: the body is over ${maxBytes} bytes`,
  },
});

const BUSY: BodyRead = {
  ok: false,
  rejection: {
    status: 503,
    kind: "busy",
    message:
      "the receiver is busy with other requests' bodies; send it again later",
  },
};

const timedOut = (timeoutMs: number): BodyRead => ({
  ok: false,
  rejection: {
    status: 408,
    kind: "body_timeout",
    message: `request body not received within ${timeoutMs} ms`,
  },
});

const UNREADABLE: BodyRead = {
  ok: false,
  rejection: {
    status: 400,
    kind: "unreadable_body",
    message: "the body could not be read (cut off by the client?)",
  },
};

/**
 * Room given to each read of a body of unknown length: it starts with this
 * much, then doubles. (Deno 2.9 never answers a read of a chunked body into
 * fewer than 8 bytes.)
 */
const CHUNKED_ROOM = 16 * 1024;

/** Reads the whole body of `request` within `limits`. */
export async function readBody(
  request: Request,
  limits: BodyLimits,
): Promise<BodyRead> {
  const stream = request.body;
  if (stream === null) return { ok: true, bytes: EMPTY, reserved: 0 };
  const { budget, maxBytes } = limits;
  const declared = request.headers.get("content-length");
  const length = declared === null ? null : Number(declared);
  if (length !== null && length > maxBytes) {
    stream.cancel().catch(() => {});
    return tooLarge(maxBytes);
  }
  // With a length the body's buffer has that size; without, it grows as the
  // body comes, with room for a read past the limit (which tells it is over).
  const most = length ?? maxBytes + CHUNKED_ROOM;
  let reserved = length ?? CHUNKED_ROOM;
  if (!budget.reserve(reserved)) {
    stream.cancel().catch(() => {});
    return BUSY;
  }
  let body: Uint8Array = EMPTY;
  let got = 0;
  /** Room in `body` for `n` more bytes (up to `most`); false when the budget has none. */
  const room = (n: number): boolean => {
    if (got + n <= body.length) return true;
    const size = Math.min(most, Math.max(reserved, body.length * 2, got + n));
    if (size > reserved) {
      if (!budget.reserve(size - reserved)) return false;
      reserved = size;
    }
    const bigger = new Uint8Array(size);
    bigger.set(body.subarray(0, got));
    body = bigger;
    return true;
  };

  let byob: ReadableStreamBYOBReader | null = null;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: a body Deno already has whole, or one made in a test.
    reader = stream.getReader();
  }
  let refusal: BodyRead | undefined;
  const refuse = (r: BodyRead) => {
    refusal ??= r;
    (byob ?? reader)!.cancel().catch(() => {});
  };
  const timer = setTimeout(
    () => refuse(timedOut(limits.timeoutMs)),
    limits.timeoutMs,
  );
  budget.reading++;
  try {
    for (;;) {
      if (byob !== null) {
        if (got > maxBytes) break; // too much: said below
        if (got === length) {
          // Read on to the end, which Deno needs to see before it answers on
          // and closes the connection; there is nothing more to read.
          const end = await byob.read(new Uint8Array(16));
          if (refusal === undefined && !end.done) refuse(UNREADABLE);
          break;
        }
        if (!room(length === null ? CHUNKED_ROOM : 1)) {
          refuse(BUSY);
          break;
        }
        // The view's buffer goes to Deno, and comes back with the bytes in it.
        const { done, value } = await byob.read(body.subarray(got));
        if (value !== undefined) body = new Uint8Array(value.buffer);
        if (refusal !== undefined || done) break;
        got += value!.length;
      } else {
        const { done, value } = await reader!.read();
        if (refusal !== undefined || done) break;
        if (got === 0 && value.length === length) {
          body = value; // the whole body in one piece: taken as it is
          got = length;
          continue;
        }
        if (got + value.length > (length ?? maxBytes)) {
          // More than the Content-Length said is not a body Deno would pass on.
          refuse(length === null ? tooLarge(maxBytes) : UNREADABLE);
          break;
        }
        if (!room(value.length)) {
          refuse(BUSY);
          break;
        }
        body.set(value, got);
        got += value.length;
      }
    }
    if (refusal === undefined && length === null && got > maxBytes) {
      refuse(tooLarge(maxBytes));
    }
    if (refusal === undefined && length !== null && got < length) {
      refusal = UNREADABLE;
    }
    if (refusal !== undefined) {
      budget.release(reserved);
      return refusal;
    }
    (byob ?? reader)!.releaseLock();
    return { ok: true, bytes: body.subarray(0, got), reserved };
  } catch {
    budget.release(reserved);
    // A read that fails after the deadline is the deadline's doing.
    return refusal ?? UNREADABLE;
  } finally {
    clearTimeout(timer);
    budget.reading--;
  }
}
