// Cluster ids shown short: the shortest prefix, of at least 8 characters, that
// no other held cluster's id shares, so ids that begin alike (00000000-…,
// a fleet numbered by hand) still read apart. Pure.

/** Ids up to this long are shown whole. */
const SHOWN_WHOLE = 13;
/** The shortest prefix shown. */
const MIN_PREFIX = 8;

/** Characters `a` and `b` share at their start. */
function commonStart(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The held ids, sorted once, for the prefix of any of them. */
export class IdPrefixes {
  readonly #ids: readonly string[];
  #sorted: string[] | undefined;

  /** The ids of every held cluster. */
  constructor(ids: readonly string[]) {
    this.#ids = ids;
  }

  /** Length of the shortest prefix of `id` (at least MIN_PREFIX) that no other held id starts with. */
  prefixLength(id: string): number {
    const sorted = this.#sorted ??= [...this.#ids].sort();
    // The ids sharing most of id's start are its neighbours in order.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    let shared = 0;
    const before = sorted[lo - 1];
    const after = sorted[sorted[lo] === id ? lo + 1 : lo];
    if (before !== undefined) shared = commonStart(id, before);
    if (after !== undefined) shared = Math.max(shared, commonStart(id, after));
    return Math.min(id.length, Math.max(MIN_PREFIX, shared + 1));
  }

  /** `id` as shown: whole when short, else its prefix and "…". */
  short(id: string): string {
    if ([...id].length <= SHOWN_WHOLE) return id;
    const length = this.prefixLength(id);
    return length >= id.length - 1 ? id : `${id.slice(0, length)}…`;
  }
}
