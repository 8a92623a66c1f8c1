// A large answer (/events pages, /metrics, the page) as a stream of small
// pieces, made only as the client takes them and given up when it stops.
//
// Deno's HTTP server asks for the next piece once the last one is written, so a client
// that stops reading stops the asking once the socket's buffers are full. If
// no piece is asked for within `idleMs`, the stream fails: Deno closes the
// connection and the rest of the answer is never made. Pieces are at most
// PIECE_BYTES whatever the size of the chunks they come from, so a large chunk
// (an old 1 MB event) never becomes a large copy.

/** The error a given-up answer ends with (the server's onError sees it). */
export class AbandonedAnswer extends Error {
  constructor(idleMs: number) {
    super(`the client read nothing of the answer for ${idleMs} ms`);
    this.name = "AbandonedAnswer";
  }
}

export interface AnswerStreamOptions {
  /** How long the client may go without taking a piece. */
  idleMs: number;
  /** Called after each piece is handed over (to pace the heap). */
  onPiece?: () => void;
  /** Called once if the answer is given up. */
  onAbandoned?: () => void;
}

export const PIECE_BYTES = 48 * 1024;
/** Characters per piece: at most three bytes each in UTF-8. */
const PIECE_CHARS = PIECE_BYTES / 3;

const encoder = new TextEncoder();

/** The chunks, UTF-8 encoded, as a byte stream with a reading deadline. */
export function answerStream(
  chunks: Iterable<string>,
  options: AnswerStreamOptions,
): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.iterator]();
  let text = "";
  let at = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = () => {
    clearTimeout(timer);
    timer = undefined;
    iterator.return?.();
  };
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      clearTimeout(timer);
      try {
        while (at >= text.length) {
          const next = iterator.next();
          if (next.done) {
            finish();
            controller.close();
            return;
          }
          text = next.value;
          at = 0;
        }
        // A surrogate pair is never cut in two: the next piece takes it whole.
        let end = Math.min(text.length, at + PIECE_CHARS);
        const last = text.charCodeAt(end - 1);
        if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
        controller.enqueue(encoder.encode(text.slice(at, end)));
        at = end;
      } catch (err) {
        finish();
        throw err;
      }
      options.onPiece?.();
      timer = setTimeout(() => {
        finish();
        options.onAbandoned?.();
        controller.error(new AbandonedAnswer(options.idleMs));
      }, options.idleMs);
    },
    cancel() {
      finish();
    },
  }, { highWaterMark: 0 });
}
