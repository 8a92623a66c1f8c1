// Renders shared by every reader of the same view and store state: rendered
// once per state version (and, for a view that tells the time, at most every
// `maxAgeMs`), kept as bytes with their compressed copies, and sent to each
// reader as views of those bytes (read_side.ts). Readers that ask while a
// render is being made wait for it instead of making their own. The bytes
// held, copies included, count against the read budget (read_budget.ts):
// a render is dropped from the cache when a newer one replaces it or room is
// needed, and its bytes are given back once its last reader is done.

import type { Coding } from "./content_coding.ts";
import type { ReadBudget, ReadRefusal } from "./read_budget.ts";

/** What a view renders: its status and its text, a chunk at a time. */
export interface RenderSource {
  status: number;
  chunks: Iterable<string>;
}

/** A render kept for every reader of a view at one store state. */
export interface SharedRender {
  readonly key: string;
  /** The store state it shows. */
  readonly version: number;
  /** When it was rendered (the clock given to the cache). */
  readonly madeAt: number;
  readonly status: number;
  /** The UTF-8 bytes, as rendered. */
  readonly body: readonly Uint8Array<ArrayBuffer>[];
  /** Bytes of `body`. */
  readonly size: number;
  /** The validator of this render: the state version and when it was made. */
  readonly etag: string;
}

/** Why no render is given: the budget is full, or the render is too large to share. */
export type NoRender = { refused: ReadRefusal } | { refused: "too_large" };

interface Entry extends SharedRender {
  /** Bytes this render holds in the budget, copies and bookkeeping included. */
  held: number;
  readers: number;
  /** Out of the cache; its bytes go back once its last reader is done. */
  retired: boolean;
  copies: Map<Coding, Promise<Uint8Array | null>>;
}

/** What a render costs besides its bytes (its key, the entry, the maps). */
const ENTRY_OVERHEAD = 1024;
/** Keys remembered as too large to share (at their state version). */
const TOO_LARGE_KEYS = 64;
/** A render being made yields to other work this often. */
const SLICE_MS = 10;

const encoder = new TextEncoder();
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The budget's bytes of one render being made. */
class Holding {
  bytes = 0;
  constructor(private readonly cache: RenderCache) {}
  /** Holds `n` more bytes, making room if it must; false when they do not fit. */
  take(n: number): boolean {
    if (!this.cache.hold(n)) return false;
    this.bytes += n;
    return true;
  }
}

export interface RenderCacheOptions {
  /** Milliseconds, the clock of `madeAt` and `maxAgeMs`. */
  now?: () => number;
}

/** The shared renders by key, within a read budget. */
export class RenderCache {
  readonly #budget: ReadBudget;
  readonly #now: () => number;
  /** Renders by key, least recently used first. */
  readonly #renders = new Map<string, Entry>();
  readonly #making = new Map<string, Promise<SharedRender | NoRender>>();
  /** The state version a key's render was too large to share at. */
  readonly #tooLarge = new Map<string, number>();

  constructor(budget: ReadBudget, options: RenderCacheOptions = {}) {
    this.#budget = budget;
    this.#now = options.now ?? Date.now;
  }

  /** Renders held in the cache now. */
  get size(): number {
    return this.#renders.size;
  }

  /**
   * The render of `key` at state `version`: the cached one when it is of that
   * version and younger than `maxAgeMs`, the one being made when there is
   * one (begun before this call, so at most one render's time older), or a
   * new one.
   */
  render(
    key: string,
    version: number,
    make: () => RenderSource,
    maxAgeMs = Infinity,
  ): SharedRender | Promise<SharedRender | NoRender> | NoRender {
    const cached = this.#renders.get(key);
    if (
      cached && cached.version === version &&
      this.#now() - cached.madeAt < maxAgeMs
    ) {
      this.#renders.delete(key); // most recently used: last
      this.#renders.set(key, cached);
      return cached;
    }
    const making = this.#making.get(key);
    if (making) return making;
    if (this.#tooLarge.get(key) === version) return { refused: "too_large" };
    if (!this.#budget.tryRender()) return { refused: "renders" };
    const made = this.#make(key, version, make).finally(() => {
      this.#making.delete(key);
      this.#budget.renderDone();
    });
    this.#making.set(key, made);
    return made;
  }

  async #make(
    key: string,
    version: number,
    make: () => RenderSource,
  ): Promise<SharedRender | NoRender> {
    const holding = new Holding(this);
    if (!holding.take(ENTRY_OVERHEAD + 2 * key.length)) {
      return { refused: "bytes" };
    }
    const madeAt = this.#now();
    const body: Uint8Array<ArrayBuffer>[] = [];
    let size = 0;
    try {
      const source = make();
      let slice = performance.now();
      for (const text of source.chunks) {
        const bytes = encoder.encode(text);
        if (size + bytes.length > this.#budget.limits.largestShared) {
          // Keys come from requests: the memo is kept small.
          if (this.#tooLarge.size >= TOO_LARGE_KEYS) this.#tooLarge.clear();
          this.#tooLarge.set(key, version);
          return this.#giveUp(holding, "too_large");
        }
        if (!holding.take(bytes.length)) return this.#giveUp(holding, "bytes");
        body.push(bytes);
        size += bytes.length;
        if (performance.now() - slice > SLICE_MS) {
          await nextTask();
          slice = performance.now();
        }
      }
      this.#tooLarge.delete(key);
      return this.#keep({
        key,
        version,
        madeAt,
        status: source.status,
        body,
        size,
        etag: `W/"${version}-${madeAt.toString(36)}"`,
        held: holding.bytes,
        readers: 0,
        retired: false,
        copies: new Map(),
      });
    } catch (err) {
      this.#budget.release(holding.bytes);
      throw err;
    }
  }

  #giveUp(holding: Holding, why: NoRender["refused"]): NoRender {
    this.#budget.release(holding.bytes);
    return { refused: why };
  }

  #keep(entry: Entry): SharedRender {
    const old = this.#renders.get(entry.key);
    if (old) this.#retire(old);
    this.#renders.set(entry.key, entry);
    return entry;
  }

  #retire(entry: Entry): void {
    if (this.#renders.get(entry.key) === entry) this.#renders.delete(entry.key);
    entry.retired = true;
    if (entry.readers === 0) this.#budget.release(entry.held);
  }

  /**
   * Holds `bytes` in the budget, retiring the least recently used renders
   * no reader is being sent until they fit; false when they cannot.
   */
  hold(bytes: number): boolean {
    if (this.#budget.tryHold(bytes)) return true;
    for (const entry of [...this.#renders.values()]) {
      if (entry.readers > 0) continue;
      this.#retire(entry);
      if (this.#budget.tryHold(bytes)) return true;
    }
    return false;
  }

  /** Marks a render as being sent: its bytes stay until unpin(). */
  pin(render: SharedRender): void {
    (render as Entry).readers++;
  }

  unpin(render: SharedRender): void {
    const entry = render as Entry;
    entry.readers--;
    if (entry.retired && entry.readers === 0) {
      this.#budget.release(entry.held);
    }
  }

  /**
   * The render compressed with `coding` (made once, on first asking); null
   * when the budget cannot hold it. Only for a pinned render.
   */
  copy(render: SharedRender, coding: Coding): Promise<Uint8Array | null> {
    const entry = render as Entry;
    let copy = entry.copies.get(coding);
    if (copy === undefined) {
      copy = this.#compress(entry, coding);
      entry.copies.set(coding, copy);
    }
    return copy;
  }

  async #compress(entry: Entry, coding: Coding): Promise<Uint8Array | null> {
    const holding = new Holding(this);
    const parts: Uint8Array[] = [];
    const compressed = ReadableStream.from<BufferSource>(entry.body)
      .pipeThrough(
        new CompressionStream(
          (coding === "br" ? "brotli" : "gzip") as CompressionFormat,
        ),
      );
    let slice = performance.now();
    for await (const part of compressed) {
      if (!holding.take(part.length)) {
        this.#budget.release(holding.bytes);
        return null;
      }
      parts.push(part);
      if (performance.now() - slice > SLICE_MS) {
        await nextTask();
        slice = performance.now();
      }
    }
    entry.held += holding.bytes;
    return concat(parts, holding.bytes);
  }
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
