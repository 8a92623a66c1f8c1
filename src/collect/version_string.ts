// Version strings reported by the scheduler and the Kubernetes API end up in
// the event, so only what looks like a version is kept: a suffix that looks
// like a host name or an IP address is dropped.

const VERSION_RE =
  /^(v?)(\d{1,4})\.(\d{1,4})\.(\d{1,6})([-+][0-9A-Za-z.+-]{1,40})?$/;
const HOSTLIKE_RE =
  /(?:^|[^0-9A-Za-z])[A-Za-z][A-Za-z0-9-]*\.[A-Za-z][A-Za-z0-9-]*/;
const IPLIKE_RE = /\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/;

/**
 * Keeps a version only when it is version-like (`v1.30.2`, `2.8.0`,
 * `v1.29.4-eks-036c24b`, `v1.28.9+k3s1`, `v1.27.3-gke.1700`), with its `v`
 * prefix as given unless `prefix` replaces it; a suffix that looks like a
 * host name or an IP address is dropped, keeping `X.Y.Z`. Anything else gives
 * undefined.
 */
export function sanitizeVersion(
  raw: unknown,
  prefix?: "v",
): string | undefined {
  if (typeof raw !== "string") return undefined;
  const m = VERSION_RE.exec(raw.trim());
  if (!m) return undefined;
  const core = `${prefix ?? m[1]}${Number(m[2])}.${Number(m[3])}.${
    Number(m[4])
  }`;
  const suffix = m[5];
  if (
    suffix === undefined || HOSTLIKE_RE.test(suffix) || IPLIKE_RE.test(suffix)
  ) {
    return core;
  }
  return core + suffix;
}
