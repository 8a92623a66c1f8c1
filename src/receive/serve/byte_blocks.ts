// Bytes gathered into blocks of one size as they come (a shared render, its
// compressed copies): text is encoded straight into the blocks, so a render
// leaves no large string or array of its own behind, and the result is a few
// large pieces to hand out as views. Each new block is taken from a holder
// (the read budget) first; a last block mostly empty is cut to size, and
// what it no longer needs given back.

import type { Coding } from "./content_coding.ts";

const encoder = new TextEncoder();

/** Where blocks' bytes are held (the read budget). */
export interface BlockHolder {
  /** Holds `bytes` more, if they fit. */
  take(bytes: number): boolean;
  /** Gives back bytes taken. */
  give(bytes: number): void;
}

/** Bytes in blocks of `blockBytes`, each held before it is made. */
export class ByteBlocks {
  readonly #blockBytes: number;
  readonly #holder: BlockHolder;
  readonly #full: Uint8Array<ArrayBuffer>[] = [];
  #block: Uint8Array<ArrayBuffer> | undefined;
  #at = 0;
  #size = 0;

  /** No blocks yet; each one made will be taken from `holder` first. */
  constructor(blockBytes: number, holder: BlockHolder) {
    this.#blockBytes = blockBytes;
    this.#holder = holder;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Room in the current block, starting a new one when it is full; false when no block could be held. */
  #room(): boolean {
    if (this.#block !== undefined && this.#at < this.#blockBytes) return true;
    if (!this.#holder.take(this.#blockBytes)) return false;
    this.#seal();
    this.#block = new Uint8Array(this.#blockBytes);
    return true;
  }

  /** Ends the current block at what was written in it. */
  #seal(): void {
    if (this.#block) this.#full.push(this.#block.subarray(0, this.#at));
    this.#block = undefined;
    this.#at = 0;
  }

  /** Appends bytes; false (and nothing more written) when a block could not be held. */
  write(bytes: Uint8Array): boolean {
    for (let from = 0; from < bytes.length;) {
      if (!this.#room()) return false;
      const n = Math.min(bytes.length - from, this.#blockBytes - this.#at);
      this.#block!.set(bytes.subarray(from, from + n), this.#at);
      this.#at += n;
      this.#size += n;
      from += n;
    }
    return true;
  }

  /** Appends text as UTF-8; false when a block could not be held. */
  writeText(text: string): boolean {
    for (let from = 0; from < text.length;) {
      if (!this.#room()) return false;
      const { read, written } = encoder.encodeInto(
        from === 0 ? text : text.slice(from),
        this.#block!.subarray(this.#at),
      );
      this.#at += written;
      this.#size += written;
      from += read;
      // A character that does not fit what is left starts the next block.
      if (read === 0) this.#seal();
    }
    return true;
  }

  /** The blocks, each cut to what was written (a last one mostly empty copied to its size). */
  done(): Uint8Array<ArrayBuffer>[] {
    const last = this.#block;
    if (last !== undefined && this.#at < this.#blockBytes / 2) {
      this.#full.push(last.slice(0, this.#at));
      this.#holder.give(this.#blockBytes - this.#at);
      this.#block = undefined;
    }
    this.#seal();
    return this.#full;
  }
}

/**
 * Bytes compressed as they are written, the compressed bytes gathered into
 * blocks (each held before it is made, as ByteBlocks does).
 */
export class CompressedBlocks {
  readonly #blocks: ByteBlocks;
  readonly #writer: WritableStreamDefaultWriter<BufferSource>;
  readonly #gathered: Promise<boolean>;
  #failed = false;

  /** A compressor in `coding` whose output blocks are taken from `holder`. */
  constructor(coding: Coding, blockBytes: number, holder: BlockHolder) {
    this.#blocks = new ByteBlocks(blockBytes, holder);
    const stream = new CompressionStream(
      (coding === "br" ? "brotli" : "gzip") as CompressionFormat,
    );
    this.#writer = stream.writable.getWriter();
    this.#gathered = this.#gather(stream.readable.getReader());
  }

  /** Compressed bytes so far. */
  get size(): number {
    return this.#blocks.size;
  }

  async #gather(
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ): Promise<boolean> {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      if (!this.#blocks.write(value)) {
        this.#failed = true;
        await reader.cancel();
        return false;
      }
    }
  }

  /** Compresses `bytes`; false once a block could not be held. */
  async write(bytes: Uint8Array<ArrayBuffer>): Promise<boolean> {
    if (this.#failed) return false;
    await this.#writer.write(bytes).catch(() => this.#failed = true);
    return !this.#failed;
  }

  /** The compressed blocks; null when a block could not be held. */
  async done(): Promise<Uint8Array<ArrayBuffer>[] | null> {
    if (this.#failed) await this.#writer.abort().catch(() => {});
    else await this.#writer.close().catch(() => this.#failed = true);
    return await this.#gathered ? this.#blocks.done() : null;
  }
}
