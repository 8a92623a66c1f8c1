// The de-duplication window of the memory store: which (distinct_id,
// $insert_id) pairs were seen lately. Each pair is kept as a fixed-size key (a
// 64-bit hash, seeded at random per process so that nobody can aim collisions
// at it; two of the window's ~44 000 keys collide with odds of about 1 in
// 10^10) of an unambiguous encoding (the distinct_id's length first, so that
// "a\0b"+"c" and "a"+"b\0c" differ), and the window holds as many keys as fit
// in its byte budget, forgetting the oldest first. Pure apart from the seeds.

/** What one remembered key costs: its 4-character string, a Set entry and a ring slot. */
export const BYTES_PER_KEY = 96;

/** Which (distinct_id, $insert_id) pairs were seen lately, within a byte budget. */
export class DedupWindow {
  /** Keys held at most. */
  readonly capacity: number;
  #keys = new Set<string>();
  #ring: string[] = [];
  #head = 0;
  #seeds: readonly [number, number, number, number];

  /**
   * An empty window of as many keys as fit `maxBytes`; its hash seeded with
   * `seeds` (four numbers), at random unless given.
   */
  constructor(maxBytes: number, seeds?: Uint32Array) {
    this.capacity = Math.max(1, Math.floor(maxBytes / BYTES_PER_KEY));
    const s = seeds ?? crypto.getRandomValues(new Uint32Array(4));
    // Seeds not given count as 0, as they always have in the mixing below.
    this.#seeds = [s[0] ?? 0, s[1] ?? 0, s[2] ?? 0, s[3] ?? 0];
  }

  /** Remembers the pair; true when it was already in the window (a re-delivery). */
  seen(distinctId: string, insertId: string): boolean {
    const key = this.key(distinctId, insertId);
    if (this.#keys.has(key)) return true;
    if (this.#ring.length < this.capacity) {
      this.#ring.push(key);
    } else {
      const oldest = this.#ring[this.#head];
      if (oldest !== undefined) this.#keys.delete(oldest);
      this.#ring[this.#head] = key;
      this.#head = (this.#head + 1) % this.capacity;
    }
    this.#keys.add(key);
    return false;
  }

  /** Keys held. */
  get size(): number {
    return this.#keys.size;
  }

  /** The fixed-size key of a pair: 4 UTF-16 code units. */
  key(distinctId: string, insertId: string): string {
    const s = this.#seeds;
    let a = s[0] ^ distinctId.length,
      b = s[1] ^ Math.imul(distinctId.length, 0x9e3779b1);
    for (let i = 0; i < distinctId.length; i++) {
      const k = distinctId.charCodeAt(i);
      a = Math.imul(a ^ k, 0x01000193);
      b = Math.imul(b ^ k, 0x5bd1e995);
    }
    for (let i = 0; i < insertId.length; i++) {
      const k = insertId.charCodeAt(i);
      a = Math.imul(a ^ k, 0x01000193);
      b = Math.imul(b ^ k, 0x5bd1e995);
    }
    a = fmix(a ^ s[2]);
    b = fmix(b ^ a ^ s[3]);
    return String.fromCharCode(a & 0xffff, a >>> 16, b & 0xffff, b >>> 16);
  }
}

/** MurmurHash3's finaliser: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
