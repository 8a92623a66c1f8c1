// Small arithmetic the bench's tables share.

/** The median of `xs`; NaN when there are none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const upper = s[mid];
  if (upper === undefined) return NaN; // no values
  // An even count has a value below the middle one (mid ≥ 1).
  return s.length % 2 ? upper : (s[mid - 1]! + upper) / 2;
}

/** `x` rounded to `digits` decimals. */
export const round = (x: number, digits = 0): number =>
  Math.round(x * 10 ** digits) / 10 ** digits;

/** kB as MiB, to one decimal. */
export const mib = (kb: number): number => Math.round(kb / 1024 * 10) / 10;
