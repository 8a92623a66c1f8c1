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

  /** A budget of `maxBytes`, none of it reserved. */
  constructor(readonly maxBytes: number) {}

  /** Reserves `n` bytes; false (nothing reserved) when they are not free. */
  reserve(n: number): boolean {
    if (this.bytes + n > this.maxBytes) return false;
    this.bytes += n;
    return true;
  }

  /** Gives back `n` bytes reserved before. */
  release(n: number): void {
    this.bytes -= n;
  }
}

/** What one body is read within. */
export interface BodyLimits {
  /** The bytes every body being read or handled shares. */
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
  const reserved = length ?? CHUNKED_ROOM;
  if (!budget.reserve(reserved)) {
    stream.cancel().catch(() => {});
    return BUSY;
  }
  const reading = new BodyReading(stream, budget, reserved, length, maxBytes);
  const timer = setTimeout(
    () => reading.refuse(timedOut(limits.timeoutMs)),
    limits.timeoutMs,
  );
  budget.reading++;
  try {
    await reading.readAll();
    return reading.finish();
  } catch {
    budget.release(reading.reserved);
    // A read that fails after the deadline is the deadline's doing.
    return reading.refusal ?? UNREADABLE;
  } finally {
    clearTimeout(timer);
    budget.reading--;
  }
}

/**
 * One body being read: its buffer, grown within the budget as the body
 * comes, and the refusal that ends the reading, if one does (the deadline's,
 * from a timer, or the body's own).
 */
class BodyReading {
  /** The buffer; `got` bytes of it read so far. */
  body: Uint8Array = EMPTY;
  got = 0;
  refusal: BodyRead | undefined;
  /** A BYOB reader (Deno writes into our buffer), else a default one. */
  readonly #byob: ReadableStreamBYOBReader | null = null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** The most the buffer may hold: the length, or past the limit by a read. */
  readonly #most: number;

  constructor(
    stream: ReadableStream<Uint8Array>,
    readonly budget: BodyBudget,
    /** Bytes of the budget this body holds. */
    public reserved: number,
    /** The Content-Length; null when the body is chunked. */
    readonly length: number | null,
    readonly maxBytes: number,
  ) {
    this.#most = length ?? maxBytes + CHUNKED_ROOM;
    try {
      this.#byob = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream: a body Deno already has whole, or one made in a test.
      this.#reader = stream.getReader();
    }
  }

  /** Ends the reading with `refusal` (the first one said stays). */
  refuse(refusal: BodyRead): void {
    this.refusal ??= refusal;
    (this.#byob ?? this.#reader)!.cancel().catch(() => {});
  }

  /** Reads until the body ends, is over its limit, or is refused. */
  readAll(): Promise<void> {
    return this.#byob !== null
      ? this.#readInto(this.#byob)
      : this.#readPieces(this.#reader!);
  }

  async #readInto(byob: ReadableStreamBYOBReader): Promise<void> {
    for (;;) {
      if (this.got > this.maxBytes) return; // too much: said by finish()
      if (this.got === this.length) {
        // Read on to the end, which Deno needs to see before it answers on
        // and closes the connection; there is nothing more to read.
        const end = await byob.read(new Uint8Array(16));
        if (this.refusal === undefined && !end.done) this.refuse(UNREADABLE);
        return;
      }
      if (!this.#room(this.length === null ? CHUNKED_ROOM : 1)) {
        return this.refuse(BUSY);
      }
      // The view's buffer goes to Deno, and comes back with the bytes in it.
      const { done, value } = await byob.read(this.body.subarray(this.got));
      if (value !== undefined) this.body = new Uint8Array(value.buffer);
      if (this.refusal !== undefined || done) return;
      this.got += value!.length;
    }
  }

  async #readPieces(
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ): Promise<void> {
    const { length, maxBytes } = this;
    for (;;) {
      const { done, value } = await reader.read();
      if (this.refusal !== undefined || done) return;
      if (this.got === 0 && value.length === length) {
        this.body = value; // the whole body in one piece: taken as it is
        this.got = length;
        continue;
      }
      if (this.got + value.length > (length ?? maxBytes)) {
        // More than the Content-Length said is not a body Deno would pass on.
        return this.refuse(length === null ? tooLarge(maxBytes) : UNREADABLE);
      }
      if (!this.#room(value.length)) return this.refuse(BUSY);
      this.body.set(value, this.got);
      this.got += value.length;
    }
  }

  /** Room in the buffer for `n` more bytes (up to the most); false when the budget has none. */
  #room(n: number): boolean {
    if (this.got + n <= this.body.length) return true;
    const size = Math.min(
      this.#most,
      Math.max(this.reserved, this.body.length * 2, this.got + n),
    );
    if (size > this.reserved) {
      if (!this.budget.reserve(size - this.reserved)) return false;
      this.reserved = size;
    }
    const bigger = new Uint8Array(size);
    bigger.set(this.body.subarray(0, this.got));
    this.body = bigger;
    return true;
  }

  /** The body once read in full, else the refusal (the budget given back). */
  finish(): BodyRead {
    const { length, got, maxBytes } = this;
    if (this.refusal === undefined && length === null && got > maxBytes) {
      this.refuse(tooLarge(maxBytes));
    }
    if (this.refusal === undefined && length !== null && got < length) {
      this.refusal = UNREADABLE;
    }
    if (this.refusal !== undefined) {
      this.budget.release(this.reserved);
      return this.refusal;
    }
    (this.#byob ?? this.#reader)!.releaseLock();
    return {
      ok: true,
      bytes: this.body.subarray(0, got),
      reserved: this.reserved,
    };
  }
}
