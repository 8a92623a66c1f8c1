// A gzip answer made of a few fresh bytes followed by a body compressed once
// and shared (/metrics: the receiver's own counters, rendered for each scrape,
// then every cluster's series, compressed once per store state). Both go into
// one gzip member (RFC 1952), so every client reads it: the fresh bytes as
// stored deflate blocks (RFC 1951 §3.2.4: no compression, ending on a byte
// boundary, never final), then the shared body's deflate blocks as the runtime
// made them, then a trailer for the whole: the CRC-32 of both, from the CRC of
// the fresh bytes combined with the CRC the shared copy carries (zlib's
// crc32_combine), and the total length. Pure: no I/O.

/** The reflected CRC-32 polynomial of gzip. */
const POLY = 0xedb88320;
const HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff);
const HEADER_BYTES = 10;
const TRAILER_BYTES = 8;
const STORED_MAX = 0xffff;

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  return c;
});

/** CRC-32 (as gzip's trailer has it) of `bytes`, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) {
    c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/** a × b modulo the CRC polynomial (both reflected). */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) product ^= b;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0..31. */
const X_TO_2K = (() => {
  const table = new Uint32Array(32);
  let p = 0x40000000; // x^1
  for (let k = 0; k < 32; k++) {
    table[k] = p;
    p = multiplyModP(p, p);
  }
  return table;
})();

/** The CRC-32 of A followed by B, from the CRC of each and B's length. */
export function crc32Combine(
  crcA: number,
  crcB: number,
  lengthB: number,
): number {
  // A's CRC shifted over B's 8 × lengthB bits: x^(8 × lengthB) mod p.
  let shift = 0x80000000; // x^0
  for (let n = lengthB, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2) shift = multiplyModP(X_TO_2K[k % 32]!, shift);
  }
  return (multiplyModP(shift, crcA) ^ crcB) >>> 0;
}

/** A gzip member split as the splice needs it. */
export interface GzipParts {
  /** The deflate blocks, ending with the final one, as views of the member. */
  deflate: Uint8Array[];
  /** The CRC-32 of the uncompressed data. */
  crc: number;
  /** Length of the uncompressed data. */
  size: number;
}

/**
 * The parts of one gzip member, given in pieces, with a plain 10-byte header
 * (no name, comment or extra field); null when it is not such a member.
 */
export function gzipParts(member: readonly Uint8Array[]): GzipParts | null {
  const total = member.reduce((n, piece) => n + piece.length, 0);
  const header = bytesAt(member, 0, 4);
  if (
    total < HEADER_BYTES + TRAILER_BYTES || header[0] !== 0x1f ||
    header[1] !== 0x8b || header[2] !== 8 || header[3] !== 0
  ) {
    return null;
  }
  const trailer = bytesAt(member, total - TRAILER_BYTES, TRAILER_BYTES);
  const view = new DataView(trailer.buffer);
  return {
    deflate: viewsOf(member, HEADER_BYTES, total - TRAILER_BYTES),
    crc: view.getUint32(0, true),
    size: view.getUint32(4, true),
  };
}

/** Views of the bytes [from, to) of data given in pieces. */
function viewsOf(
  pieces: readonly Uint8Array[],
  from: number,
  to: number,
): Uint8Array[] {
  const views: Uint8Array[] = [];
  let at = 0;
  for (const piece of pieces) {
    const start = Math.max(from - at, 0);
    const end = Math.min(to - at, piece.length);
    if (end > start) views.push(piece.subarray(start, end));
    at += piece.length;
  }
  return views;
}

/** A copy of `length` bytes at `from` of data given in pieces. */
function bytesAt(
  pieces: readonly Uint8Array[],
  from: number,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const view of viewsOf(pieces, from, from + length)) {
    out.set(view, at);
    at += view.length;
  }
  return out;
}

/** Stored deflate blocks (never final) holding `bytes`. */
function storedBlocks(bytes: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(bytes.length / STORED_MAX));
  const out = new Uint8Array(bytes.length + 5 * blocks);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let from = 0, b = 0; b < blocks; b++, from += STORED_MAX) {
    const piece = bytes.subarray(from, from + STORED_MAX);
    out[at] = 0; // BFINAL 0, BTYPE 00, then padding to the byte's end
    view.setUint16(at + 1, piece.length, true);
    view.setUint16(at + 3, ~piece.length & 0xffff, true);
    out.set(piece, at + 5);
    at += 5 + piece.length;
  }
  return out;
}

/**
 * One gzip member of `fresh` followed by the shared body, as chunks: the
 * shared deflate blocks are a view, never copied.
 */
export function spliceGzip(fresh: Uint8Array, shared: GzipParts): Uint8Array[] {
  const trailer = new Uint8Array(TRAILER_BYTES);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc32Combine(crc32(fresh), shared.crc, shared.size), true);
  view.setUint32(4, (fresh.length + shared.size) >>> 0, true);
  return [HEADER, storedBlocks(fresh), ...shared.deflate, trailer];
}
