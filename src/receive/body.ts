// Reading a request body within a size limit, a deadline and a byte budget
// shared by every request.
//
// Deno.serve hands a body over as a stream and bounds neither its size nor how
// long it may take to arrive. Here a body is refused (413) past `maxBytes`: by
// its Content-Length before anything is read when it has one, else while it is
// read. It is refused (503) when the bodies being read or handled would hold
// more than the budget together, and given up (408) when it has not arrived
// within `timeoutMs` of the request. The stream is cancelled in every refusal.

import type { Rejection } from "./decode.ts";

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
  if (length !== null && !budget.reserve(length)) {
    stream.cancel().catch(() => {});
    return BUSY;
  }
  let reserved = length ?? 0;
  let refusal: BodyRead | undefined;
  const reader = stream.getReader();
  const refuse = (r: BodyRead) => {
    refusal ??= r;
    reader.cancel().catch(() => {});
  };
  const timer = setTimeout(
    () => refuse(timedOut(limits.timeoutMs)),
    limits.timeoutMs,
  );
  budget.reading++;
  try {
    // With a length the body goes straight into its place; without, chunk by chunk.
    const whole = length !== null && length > 0 ? new Uint8Array(length) : null;
    const chunks: Uint8Array[] = [];
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (refusal !== undefined || done) break;
      if (got + value.length > (length ?? maxBytes)) {
        // More than the Content-Length said is not a body Deno would pass on;
        // without one, it is past the limit.
        refuse(length === null ? tooLarge(maxBytes) : UNREADABLE);
        break;
      }
      if (whole !== null) whole.set(value, got);
      else {
        if (!budget.reserve(value.length)) {
          refuse(BUSY);
          break;
        }
        reserved += value.length;
        chunks.push(value);
      }
      got += value.length;
    }
    if (refusal === undefined && length !== null && got < length) {
      refusal = UNREADABLE;
    }
    if (refusal !== undefined) {
      budget.release(reserved);
      return refusal;
    }
    return { ok: true, bytes: whole ?? concat(chunks, got), reserved };
  } catch {
    budget.release(reserved);
    // A read that fails after the deadline is the deadline's doing.
    return refusal ?? UNREADABLE;
  } finally {
    clearTimeout(timer);
    budget.reading--;
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
