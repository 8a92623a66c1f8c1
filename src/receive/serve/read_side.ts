// The read side's answers, within one budget (read_budget.ts): a view's
// answer from its shared render (shared_render.ts) with a validator and a
// compressed copy, and answers made for one reader as it reads (/events, a
// render too large to share). Every answer is a stream of pieces handed over
// as the reader takes them and given up when it reads nothing for `idleMs`
// (stream.ts); past a limit of the budget a read is answered 503 with
// Retry-After.

import { chooseCoding, type Coding, matchesEtag } from "./content_coding.ts";
import { fixedAnswer } from "./fixed_answer.ts";
import { gzipParts, spliceGzip } from "./gzip_splice.ts";
import { ReadBudget, type ReadRefusal } from "./read_budget.ts";
import {
  type NoRender,
  RenderCache,
  type RenderSource,
  type SharedRender,
} from "./shared_render.ts";
import { type AnswerChunk, answerStream } from "./stream.ts";

/** A view answered from a render shared by its readers. */
export interface SharedView {
  /** Readers of the same key share renders. */
  key: string;
  /** The store state the view would show now. */
  version: number;
  /** How long a render is reused at an unchanged state (a view that tells the time); forever unless set. */
  maxAgeMs?: number;
  /** Renders the view (called at most once per state, for all its readers). */
  render(): RenderSource;
  /** Headers of the answer, besides its length, coding and validator. */
  headers: Record<string, string>;
  /** Text made for each reader, sent before the shared render (then no validator). */
  fresh?: () => string;
}

/** What the read side is given. */
export interface ReadSideOptions {
  /** What its answers may hold; READ_LIMITS unless given. */
  budget?: ReadBudget;
  /** How long a reader may take no piece of its answer (BODY_TIMEOUT). */
  idleMs: number;
  /** Called after each piece handed over, and each chunk rendered or compressed (to pace the heap). */
  onPiece?: () => void;
  /** Called when an answer is given up: its reader stopped reading. */
  onAbandoned?: () => void;
  /** Milliseconds, the clock of the renders' ages. */
  now?: () => number;
}

/** Smaller renders are sent as they are. */
const COMPRESS_MIN_BYTES = 1024;

const encoder = new TextEncoder();

const RETRY: ResponseInit["headers"] = {
  "content-type": "text/plain; charset=utf-8",
  "retry-after": "1",
};

/** The read side's answers and what they hold. */
export class ReadSide {
  /** What the answers hold. */
  readonly budget: ReadBudget;
  /** The shared renders. */
  readonly cache: RenderCache;
  readonly #options: ReadSideOptions;

  /** A read side within `options.budget` (the defaults unless given). */
  constructor(options: ReadSideOptions) {
    this.budget = options.budget ?? new ReadBudget();
    this.cache = new RenderCache(this.budget, {
      now: options.now,
      onWork: options.onPiece,
    });
    this.#options = options;
  }

  /** An answer made for this reader alone as it reads: one of the renders being made. */
  streamed(chunks: Iterable<AnswerChunk>, init: ResponseInit): Response {
    if (!this.budget.tryRender()) return this.busy("renders");
    if (!this.budget.tryReader()) {
      this.budget.renderDone();
      return this.busy("readers");
    }
    return new Response(
      this.#stream(chunks, () => {
        this.budget.renderDone();
        this.budget.readerDone();
      }),
      { ...init, headers: untransformed(new Headers(init.headers)) },
    );
  }

  /** A view's answer from its shared render: 304 when the reader has it, compressed when it accepts that. */
  shared(req: Request, view: SharedView): Response | Promise<Response> {
    const got = this.cache.render(
      view.key,
      view.version,
      () => view.render(),
      view.maxAgeMs,
    );
    return got instanceof Promise
      ? got.then((render) => this.#answer(req, view, render))
      : this.#answer(req, view, got);
  }

  /** 503 with Retry-After, saying which limit of the budget was reached. */
  busy(why: ReadRefusal): Response {
    this.budget.refused(why);
    const { limits } = this.budget;
    const reason = why === "renders"
      ? `${limits.renders} answers are being rendered`
      : why === "readers"
      ? `${limits.readers} answers are being sent`
      : `the answers being sent fill the read budget (${
        Math.round(limits.sharedBytes / 1024 / 1024)
      } MiB)`;
    return fixedAnswer(
      `the receiver's read budget is full: ${reason}; try again in a second\n`,
      { status: 503, headers: RETRY },
    );
  }

  #answer(
    req: Request,
    view: SharedView,
    render: SharedRender | NoRender,
  ): Response | Promise<Response> {
    if ("refused" in render) {
      if (render.refused !== "too_large") return this.busy(render.refused);
      return this.#unshared(view);
    }
    const etag = view.fresh || render.status !== 200 ? undefined : render.etag;
    if (
      etag !== undefined && matchesEtag(req.headers.get("if-none-match"), etag)
    ) {
      return fixedAnswer(null, {
        status: 304,
        headers: { etag, ...validatorHeaders(view.headers) },
      });
    }
    const coding = chooseCoding(
      req.headers.get("accept-encoding"),
      offered(view, render),
    );
    // Text inflated for one reader from a render kept compressed is made
    // anew, as a render is: one of the renders being made.
    const inflating = coding === "identity" && render.coding !== "identity";
    if (inflating && !this.budget.tryRender()) return this.busy("renders");
    if (!this.budget.tryReader()) {
      if (inflating) this.budget.renderDone();
      return this.busy("readers");
    }
    this.cache.pin(render);
    const done = () => {
      this.cache.unpin(render);
      this.budget.readerDone();
      if (inflating) this.budget.renderDone();
    };
    if (coding === "identity") return this.#send(req, view, render, etag, done);
    return this.cache.copy(render, coding).catch(() => null).then((copy) =>
      this.#send(req, view, render, etag, done, copy && { coding, copy })
    );
  }

  /** The answer of a pinned render, in its coding; `done` once the answer ends. */
  #send(
    req: Request,
    view: SharedView,
    render: SharedRender,
    etag: string | undefined,
    done: () => void,
    coded?: { coding: Coding; copy: Uint8Array[] } | null,
  ): Response {
    const fresh = view.fresh ? encoder.encode(view.fresh()) : undefined;
    const { chunks, length, coding } = bodyOf(render, fresh, coded);
    const headers: Record<string, string> = {
      ...untransformed(view.headers),
      "content-length": String(length),
      vary: "accept-encoding",
    };
    if (etag !== undefined) headers.etag = etag;
    if (coding !== "identity") headers["content-encoding"] = coding;
    if (req.method === "HEAD") {
      done();
      return new Response(null, { status: render.status, headers });
    }
    return new Response(this.#stream(chunks, done), {
      status: render.status,
      headers,
    });
  }

  /** A render too large to share: made for this reader as it reads. */
  #unshared(view: SharedView): Response {
    const fresh = view.fresh?.();
    const rest = view.render().chunks;
    return this.streamed(
      fresh === undefined ? rest : prepend(fresh, rest),
      { status: 200, headers: view.headers },
    );
  }

  #stream(
    chunks: Iterable<AnswerChunk> | AsyncIterable<AnswerChunk>,
    onEnd: () => void,
  ) {
    return answerStream(chunks, {
      idleMs: this.#options.idleMs,
      onPiece: this.#options.onPiece,
      onAbandoned: this.#options.onAbandoned,
      onEnd,
    });
  }
}

/**
 * The codings a render is offered in: none when small; gzip alone when it
 * is kept so, or when fresh text is spliced in front of it.
 */
function offered(view: SharedView, render: SharedRender): Coding[] {
  if (render.size < COMPRESS_MIN_BYTES) return [];
  if (view.fresh || render.coding === "gzip") return ["gzip"];
  return ["br", "gzip"];
}

/** An answer's body: its chunks, their length in bytes, and its coding. */
interface Body {
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  length: number;
  coding: Coding | "identity";
}

const lengthOf = (chunks: readonly Uint8Array[]) =>
  chunks.reduce((n, c) => n + c.length, 0);

/**
 * The body of a render's answer: its compressed copy (fresh text spliced in
 * front of a gzip one), or its text after any fresh text (inflated as it is
 * read when the render is kept compressed).
 */
function bodyOf(
  render: SharedRender,
  fresh: Uint8Array | undefined,
  coded: { coding: Coding; copy: Uint8Array[] } | null | undefined,
): Body {
  if (coded && fresh === undefined) {
    return { ...coded, chunks: coded.copy, length: lengthOf(coded.copy) };
  }
  const parts = coded?.coding === "gzip" ? gzipParts(coded.copy) : null;
  if (fresh !== undefined && parts !== null) {
    const chunks = spliceGzip(fresh, parts);
    return { chunks, length: lengthOf(chunks), coding: "gzip" };
  }
  const length = (fresh?.length ?? 0) + render.size;
  if (render.coding === "identity") {
    const chunks = fresh ? [fresh, ...render.body] : render.body;
    return { chunks, length, coding: "identity" };
  }
  return { chunks: inflated(fresh, render.body), length, coding: "identity" };
}

/** Gzip is inflated this much at a time: each piece of text made is a few times larger. */
const INFLATE_SLICE_BYTES = 64 * 1024;

/** `first`, then the text of gzip blocks, inflated as it is read. */
async function* inflated(
  first: Uint8Array | undefined,
  gzip: readonly Uint8Array<ArrayBuffer>[],
): AsyncGenerator<Uint8Array> {
  if (first) yield first;
  const slices = function* () {
    for (const block of gzip) {
      for (let at = 0; at < block.length; at += INFLATE_SLICE_BYTES) {
        yield block.subarray(at, at + INFLATE_SLICE_BYTES);
      }
    }
  };
  yield* ReadableStream.from(slices()).pipeThrough(
    new DecompressionStream("gzip"),
  );
}

/**
 * The headers with `no-transform` in Cache-Control: the runtime would
 * otherwise compress the answer anew for each reader when
 * DENO_SERVE_AUTOMATIC_COMPRESSION is set.
 */
function untransformed(
  headers: Record<string, string> | Headers,
): Record<string, string> {
  const out = headers instanceof Headers
    ? Object.fromEntries(headers)
    : { ...headers };
  const control = out["cache-control"];
  if (control === undefined) out["cache-control"] = "no-transform";
  else if (!/no-transform/i.test(control)) {
    out["cache-control"] = `${control}, no-transform`;
  }
  return out;
}

/** The headers a 304 repeats of its 200 (RFC 9110 §15.4.5). */
function validatorHeaders(headers: Record<string, string>) {
  return {
    vary: "accept-encoding",
    "cache-control": untransformed(headers)["cache-control"]!,
  };
}

function* prepend(first: string, rest: Iterable<string>): Generator<string> {
  yield first;
  yield* rest;
}
