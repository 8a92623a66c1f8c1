// A large answer (/events pages, /metrics, the pages) as a stream of small
// pieces, handed over only as the client takes them and given up when it stops.
//
// Deno's HTTP server asks for the next piece once the last one is written, so a client
// that stops reading stops the asking once the socket's buffers are full. If
// no piece is asked for within `idleMs`, the stream fails: Deno closes the
// connection (an HTTP/2 stream is reset) and the rest of the answer is never
// handed over. Pieces are at most PIECE_BYTES whatever the size of the chunks
// they come from: text is encoded a piece at a time, so a large chunk (an old
// 1 MB event) never becomes a large copy; bytes (a render shared by every
// reader, shared_render.ts) are handed over as views of the shared bytes,
// never copied (VIEW_PIECE_BYTES), so a reader that never reads holds no
// bytes of its own.

/** The error a given-up answer ends with (the server's onError sees it). */
export class AbandonedAnswer extends Error {
  /** The error of an answer whose reader took nothing for `idleMs`. */
  constructor(idleMs: number) {
    super(`the client read nothing of the answer for ${idleMs} ms`);
    this.name = "AbandonedAnswer";
  }
}

/** How a streamed answer is paced and ended. */
export interface AnswerStreamOptions {
  /** How long the client may go without taking a piece. */
  idleMs: number;
  /** Called after each piece is handed over (to pace the heap). */
  onPiece?: () => void;
  /** Called once if the answer is given up. */
  onAbandoned?: () => void;
  /** Called once when the answer ends, however: read whole, cancelled, given up or failed. */
  onEnd?: () => void;
}

/** A chunk of an answer: text (encoded as it is read) or bytes (handed over as views). */
export type AnswerChunk = string | Uint8Array;

/** The largest piece encoded from text: a copy, so kept small. */
export const PIECE_BYTES = 48 * 1024;
/** Characters per piece: at most three bytes each in UTF-8. */
const PIECE_CHARS = PIECE_BYTES / 3;
/**
 * The largest piece of bytes: a view, never a copy, so larger pieces cost a
 * reader nothing and save work per piece (the runtime then holds at most one
 * piece beyond its 64 KiB of buffered pieces).
 */
const VIEW_PIECE_BYTES = 256 * 1024;

const encoder = new TextEncoder();

/** Cuts pieces of at most PIECE_BYTES off one chunk after another. */
class PieceCutter {
  #chunk: AnswerChunk = "";
  #at = 0;

  /** Whether the current chunk is used up. */
  get empty(): boolean {
    return this.#at >= this.#chunk.length;
  }

  take(chunk: AnswerChunk): void {
    this.#chunk = chunk;
    this.#at = 0;
  }

  next(): Uint8Array {
    const chunk = this.#chunk;
    const at = this.#at;
    if (typeof chunk !== "string") {
      this.#at = Math.min(chunk.length, at + VIEW_PIECE_BYTES);
      return chunk.subarray(at, this.#at);
    }
    // A surrogate pair is never cut in two: the next piece takes it whole.
    let end = Math.min(chunk.length, at + PIECE_CHARS);
    const last = chunk.charCodeAt(end - 1);
    if (end < chunk.length && last >= 0xd800 && last <= 0xdbff) end--;
    this.#at = end;
    return encoder.encode(chunk.slice(at, end));
  }
}

/** The chunks (made as they are asked for, or awaited) as a byte stream with a reading deadline. */
export function answerStream(
  chunks: Iterable<AnswerChunk> | AsyncIterable<AnswerChunk>,
  options: AnswerStreamOptions,
): ReadableStream<Uint8Array> {
  const iterator = Symbol.asyncIterator in chunks
    ? chunks[Symbol.asyncIterator]()
    : chunks[Symbol.iterator]();
  const cutter = new PieceCutter();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ended = false;
  const finish = () => {
    clearTimeout(timer);
    timer = undefined;
    if (ended) return;
    ended = true;
    try {
      const closing = iterator.return?.();
      if (closing instanceof Promise) closing.catch(() => {});
    } finally {
      options.onEnd?.();
    }
  };
  const giveUpLater = (controller: ReadableStreamDefaultController) => {
    timer = setTimeout(() => {
      finish();
      options.onAbandoned?.();
      controller.error(new AbandonedAnswer(options.idleMs));
    }, options.idleMs);
  };
  return new ReadableStream<Uint8Array>({
    // An answer never asked for (its client gone before it began) ends too.
    start: giveUpLater,
    async pull(controller) {
      clearTimeout(timer);
      try {
        while (cutter.empty) {
          const pending = iterator.next();
          const next = pending instanceof Promise ? await pending : pending;
          if (next.done) {
            finish();
            controller.close();
            return;
          }
          cutter.take(next.value);
        }
        controller.enqueue(cutter.next());
      } catch (err) {
        finish();
        throw err;
      }
      options.onPiece?.();
      giveUpLater(controller);
    },
    cancel() {
      finish();
    },
  }, { highWaterMark: 0 });
}
