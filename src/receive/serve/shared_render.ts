// Renders shared by every reader of the same view and store state: rendered
// once per state version (and, for a view that tells the time, at most every
// `maxAgeMs`), kept as bytes, and sent to each reader as views of those bytes
// (read_side.ts). Readers that ask while a render is being made wait for it
// instead of making their own. A render up to PLAIN_MAX_BYTES is kept as it
// is, with compressed copies made on first asking; a larger one (/metrics of
// a large fleet) is kept gzip-compressed only, compressed as it is rendered,
// and inflated for the few readers that do not accept gzip. The bytes held,
// copies included, count against the read budget (read_budget.ts): a render
// is dropped from the cache when a newer one replaces it or room is needed,
// and its bytes are given back once its last reader is done.

import {
  type BlockHolder,
  ByteBlocks,
  CompressedBlocks,
} from "./byte_blocks.ts";
import type { Coding } from "./content_coding.ts";
import type { ReadBudget, ReadRefusal } from "./read_budget.ts";

/** What a view renders: its status and its text, a chunk at a time. */
export interface RenderSource {
  /** The HTTP status of the answer. */
  status: number;
  /** The text, made as it is read. */
  chunks: Iterable<string>;
}

/** A render kept for every reader of a view at one store state. */
export interface SharedRender {
  /** The view it renders. */
  readonly key: string;
  /** The store state it shows. */
  readonly version: number;
  /** When it was rendered (the clock given to the cache). */
  readonly madeAt: number;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The bytes kept: the UTF-8 text as rendered, or its gzip. */
  readonly body: readonly Uint8Array<ArrayBuffer>[];
  /** How `body` is kept. */
  readonly coding: "identity" | "gzip";
  /** Bytes of the text as rendered (of `body` once inflated). */
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
  copies: Map<Coding, Promise<Uint8Array<ArrayBuffer>[] | null>>;
}

/** Renders up to this size are kept as they are; larger ones gzip-compressed only. */
export const PLAIN_MAX_BYTES = 1024 * 1024;
/** What a render costs besides its bytes (its key, the entry, the maps). */
const ENTRY_OVERHEAD = 1024;
/** Renders and their copies are kept in blocks of this size: a few large views to send. */
const BLOCK_BYTES = 256 * 1024;
/** Keys remembered as too large to share (at their state version). */
const TOO_LARGE_KEYS = 64;
/** A render being made yields to other work this often. */
const SLICE_MS = 10;

const encoder = new TextEncoder();
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The budget's bytes of one part of a render (its text, or a compressed copy). */
class Holding implements BlockHolder {
  bytes = 0;
  constructor(private readonly cache: RenderCache) {}
  /** Holds `n` more bytes, making room if it must; false when they do not fit. */
  take(n: number): boolean {
    if (!this.cache.hold(n)) return false;
    this.bytes += n;
    return true;
  }
  give(n: number): void {
    this.cache.release(n);
    this.bytes -= n;
  }
}

/** Gives other work a turn every SLICE_MS of this one. */
class Slices {
  #since = performance.now();
  async turn(): Promise<void> {
    if (performance.now() - this.#since < SLICE_MS) return;
    await nextTask();
    this.#since = performance.now();
  }
}

/** A render's text as it is made: kept as it is, then gzip-compressed once past PLAIN_MAX_BYTES. */
class RenderBody {
  readonly #cache: RenderCache;
  readonly #plainHeld: Holding;
  readonly #packedHeld: Holding;
  readonly #plain: ByteBlocks;
  #packed: CompressedBlocks | undefined;
  /** Bytes of text so far. */
  size = 0;

  constructor(cache: RenderCache) {
    this.#cache = cache;
    this.#plainHeld = new Holding(cache);
    this.#packedHeld = new Holding(cache);
    this.#plain = new ByteBlocks(BLOCK_BYTES, this.#plainHeld);
  }

  /** Bytes kept so far. */
  get kept(): number {
    return this.#packed ? this.#packed.size : this.#plain.size;
  }

  /** Bytes held in the budget. */
  get held(): number {
    return this.#plainHeld.bytes + this.#packedHeld.bytes;
  }

  /** Adds text; false when the budget cannot hold it. */
  async write(text: string): Promise<boolean> {
    if (this.#packed) {
      const bytes = encoder.encode(text);
      this.size += bytes.length;
      return await this.#packed.write(bytes);
    }
    if (!this.#plain.writeText(text)) return false;
    this.size = this.#plain.size;
    return this.size <= PLAIN_MAX_BYTES || await this.#pack();
  }

  /** From now on gzip-compressed: the text so far is compressed and let go. */
  async #pack(): Promise<boolean> {
    this.#packed = new CompressedBlocks(
      "gzip",
      BLOCK_BYTES,
      this.#packedHeld,
    );
    for (const block of this.#plain.done()) {
      if (!await this.#packed.write(block)) return false;
    }
    this.#plainHeld.give(this.#plainHeld.bytes);
    return true;
  }

  /** The body kept and how; null when the budget could not hold it. */
  async done(): Promise<
    { body: Uint8Array<ArrayBuffer>[]; coding: "identity" | "gzip" } | null
  > {
    if (!this.#packed) return { body: this.#plain.done(), coding: "identity" };
    const body = await this.#packed.done();
    return body && { body, coding: "gzip" };
  }
}

/** What the cache is given besides its budget. */
export interface RenderCacheOptions {
  /** Milliseconds, the clock of `madeAt` and `maxAgeMs`. */
  now?: () => number;
  /** Called after each chunk rendered or compressed (to pace the heap). */
  onWork?: () => void;
}

/** The shared renders by key, within a read budget. */
export class RenderCache {
  readonly #budget: ReadBudget;
  readonly #now: () => number;
  readonly #onWork: () => void;
  /** Renders by key, least recently used first. */
  readonly #renders = new Map<string, Entry>();
  readonly #making = new Map<string, Promise<SharedRender | NoRender>>();
  /** The state version a key's render was too large to share at. */
  readonly #tooLarge = new Map<string, number>();

  /** An empty cache whose renders are held in `budget`. */
  constructor(budget: ReadBudget, options: RenderCacheOptions = {}) {
    this.#budget = budget;
    this.#now = options.now ?? Date.now;
    this.#onWork = options.onWork ?? (() => {});
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
    const overhead = ENTRY_OVERHEAD + 2 * key.length;
    if (!this.hold(overhead)) return { refused: "bytes" };
    const madeAt = this.#now();
    const body = new RenderBody(this);
    const slices = new Slices();
    const giveUp = (why: NoRender["refused"]): NoRender => {
      this.release(overhead + body.held);
      if (why === "too_large") this.#rememberTooLarge(key, version);
      return { refused: why };
    };
    try {
      const source = make();
      for (const text of source.chunks) {
        if (!await body.write(text)) return giveUp("bytes");
        if (body.kept > this.#budget.limits.largestShared) {
          return giveUp("too_large");
        }
        this.#onWork();
        await slices.turn();
      }
      const kept = await body.done();
      if (kept === null) return giveUp("bytes");
      this.#tooLarge.delete(key);
      return this.#keep({
        key,
        version,
        madeAt,
        status: source.status,
        ...kept,
        size: body.size,
        etag: `W/"${version}-${madeAt.toString(36)}"`,
        held: overhead + body.held,
        readers: 0,
        retired: false,
        copies: new Map(),
      });
    } catch (err) {
      this.release(overhead + body.held);
      throw err;
    }
  }

  #rememberTooLarge(key: string, version: number): void {
    // Keys come from requests: the memo is kept small.
    if (this.#tooLarge.size >= TOO_LARGE_KEYS) this.#tooLarge.clear();
    this.#tooLarge.set(key, version);
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
    if (entry.readers === 0) this.release(entry.held);
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

  /** Gives bytes held back to the budget. */
  release(bytes: number): void {
    this.#budget.release(bytes);
  }

  /** Marks a render as being sent: its bytes stay until unpin(). */
  pin(render: SharedRender): void {
    (render as Entry).readers++;
  }

  /** Ends what pin() began; a retired render's bytes go back after its last reader. */
  unpin(render: SharedRender): void {
    const entry = render as Entry;
    entry.readers--;
    if (entry.retired && entry.readers === 0) this.release(entry.held);
  }

  /**
   * The render in `coding`: its body when kept so, else a copy compressed
   * on first asking; null when the budget cannot hold it. Only for a pinned
   * render kept as it is, or one kept in that coding.
   */
  copy(
    render: SharedRender,
    coding: Coding,
  ): Promise<Uint8Array<ArrayBuffer>[] | null> {
    if (render.coding === coding) return Promise.resolve([...render.body]);
    if (render.coding !== "identity") return Promise.resolve(null);
    const entry = render as Entry;
    let copy = entry.copies.get(coding);
    if (copy === undefined) {
      copy = this.#compress(entry, coding);
      entry.copies.set(coding, copy);
    }
    return copy;
  }

  async #compress(
    entry: Entry,
    coding: Coding,
  ): Promise<Uint8Array<ArrayBuffer>[] | null> {
    const holding = new Holding(this);
    const copy = new CompressedBlocks(coding, BLOCK_BYTES, holding);
    const slices = new Slices();
    for (const block of entry.body) {
      if (!await copy.write(block)) break;
      this.#onWork();
      await slices.turn();
    }
    const blocks = await copy.done();
    if (blocks === null) this.release(holding.bytes);
    else entry.held += holding.bytes;
    return blocks;
  }
}
