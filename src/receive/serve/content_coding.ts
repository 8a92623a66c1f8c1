// What a reader accepts (Accept-Encoding) and already has (If-None-Match),
// read from its request's headers. Pure: no I/O.

/** The codings a shared render is offered in, besides identity. */
export type Coding = "br" | "gzip";

/**
 * The coding to answer in, of those offered (in order of preference), by the
 * request's Accept-Encoding (RFC 9110 §12.5.3): the one with the highest
 * q-value, the first offered on a tie; "identity" when none is acceptable or
 * the header is absent.
 */
export function chooseCoding(
  acceptEncoding: string | null,
  offered: readonly Coding[],
): Coding | "identity" {
  if (acceptEncoding === null || offered.length === 0) return "identity";
  const weights = codingWeights(acceptEncoding);
  const wildcard = weights.get("*");
  let best: Coding | "identity" = "identity";
  let bestWeight = 0;
  for (const coding of offered) {
    const weight = weights.get(coding) ?? wildcard ?? 0;
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  return best;
}

/** Each coding named in an Accept-Encoding value, with its q-value (1 unless given). */
function codingWeights(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const item of header.split(",")) {
    const [name = "", ...params] = item.split(";");
    const coding = name.trim().toLowerCase();
    if (coding === "") continue;
    let weight = 1;
    for (const param of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(param);
      if (m !== null) weight = Math.min(1, Number(m[1]));
    }
    // A coding named twice keeps its first weight.
    if (!weights.has(coding)) weights.set(coding, weight);
  }
  return weights;
}

/**
 * Whether an If-None-Match value names `etag` (weak comparison, RFC 9110
 * §13.1.2), or is "*".
 */
export function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const wanted = opaque(etag);
  return ifNoneMatch.split(",").some((tag) =>
    tag.trim() === "*" || opaque(tag) === wanted
  );
}
