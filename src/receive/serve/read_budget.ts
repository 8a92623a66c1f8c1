import { MiB } from "../../runtime/units.ts";
// The one budget of the read side (/metrics, the pages, /events): what the
// answers may hold together, whatever the number of connections, HTTP/2
// streams and slow readers (docs/receiver-reads.md states the bound).
//
// - Shared renders: an answer that many readers ask for (a page, /metrics) is
//   rendered once per store state and kept as bytes that every reader is sent
//   views of (shared_render.ts). Their bytes together, compressed copies
//   included, stay within `sharedBytes`; a render larger than `largestShared`
//   is not kept but made for each reader as it reads.
// - Renders being made: shared ones being rendered, and answers made for one
//   reader as it reads (/events, a /metrics too large to share). At most
//   `renders` at once; each of the latter holds a window of a few pieces.
// - Readers: answers being sent at once, at most `readers`; each holds only
//   views of a shared render or its own window, and is given up when its
//   client reads nothing for BODY_TIMEOUT.
// Past a limit the request is answered 503 with Retry-After (read_side.ts).

/** What the read side may hold at once. */
export interface ReadLimits {
  /** Bytes of shared renders held: being rendered, cached, or still being sent. */
  sharedBytes: number;
  /** The largest render shared; a larger one is made for each reader as it reads. */
  largestShared: number;
  /** Renders being made at once: shared ones, and answers made for one reader. */
  renders: number;
  /** Answers being sent at once. */
  readers: number;
}

/**
 * The defaults, sized for the receiver's manifest (128 MiB) at MAX_CLUSTERS
 * (10 000) clusters: /metrics of 10 000 clusters is about 14 MB of text,
 * kept as 3.4 MB of gzip (docs/receiver-reads.md).
 */
export const READ_LIMITS: Readonly<ReadLimits> = {
  sharedBytes: 16 * MiB,
  largestShared: 8 * MiB,
  renders: 4,
  readers: 128,
};

/** Why a read was refused, as /metrics counts it. */
export type ReadRefusal = "renders" | "readers" | "bytes";

/** The budget's figures, for /metrics. */
export interface ReadStats {
  /** The limits the budget holds to. */
  limits: Readonly<ReadLimits>;
  /** Bytes of shared renders held now. */
  sharedBytes: number;
  /** Renders being made now. */
  renders: number;
  /** Answers being sent now. */
  readers: number;
  /** Reads answered 503 because a limit was reached (since start). */
  refused: Readonly<Record<ReadRefusal, number>>;
}

/** Counts what the read side holds; every `try…` that succeeds is paired with its `…Done`. */
export class ReadBudget {
  /** The limits, the defaults (READ_LIMITS) where none were given. */
  readonly limits: Readonly<ReadLimits>;
  #bytes = 0;
  #renders = 0;
  #readers = 0;
  readonly #refused: Record<ReadRefusal, number> = {
    renders: 0,
    readers: 0,
    bytes: 0,
  };

  /** A budget of the given limits, READ_LIMITS for the others. */
  constructor(limits: Partial<ReadLimits> = {}) {
    this.limits = { ...READ_LIMITS, ...limits };
  }

  /** Bytes of shared renders held now. */
  get sharedBytes(): number {
    return this.#bytes;
  }

  /** Holds `bytes` more of shared renders, if they fit. */
  tryHold(bytes: number): boolean {
    if (this.#bytes + bytes > this.limits.sharedBytes) return false;
    this.#bytes += bytes;
    return true;
  }

  /** Gives back bytes held by tryHold(). */
  release(bytes: number): void {
    this.#bytes = Math.max(0, this.#bytes - bytes);
  }

  /** Starts a render, if fewer than `renders` are being made. */
  tryRender(): boolean {
    if (this.#renders >= this.limits.renders) return false;
    this.#renders++;
    return true;
  }

  /** Ends a render started by tryRender(). */
  renderDone(): void {
    this.#renders = Math.max(0, this.#renders - 1);
  }

  /** Starts sending an answer, if fewer than `readers` are being sent. */
  tryReader(): boolean {
    if (this.#readers >= this.limits.readers) return false;
    this.#readers++;
    return true;
  }

  /** Ends an answer started by tryReader(). */
  readerDone(): void {
    this.#readers = Math.max(0, this.#readers - 1);
  }

  /** Counts a read answered 503. */
  refused(why: ReadRefusal): void {
    this.#refused[why]++;
  }

  /** The figures now, for /metrics. */
  get stats(): ReadStats {
    return {
      limits: this.limits,
      sharedBytes: this.#bytes,
      renders: this.#renders,
      readers: this.#readers,
      refused: { ...this.#refused },
    };
  }
}
