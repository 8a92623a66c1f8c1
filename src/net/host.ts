// Host names as settings give them, and as addresses need them.

/** The host without brackets an IPv6 literal may be given with (`[::1]`). */
function unbracketed(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1");
}

/**
 * The host as it goes before `:port` in a URL or a gRPC target: an IPv6
 * literal in brackets (`::1` → `[::1]`), anything else as given.
 */
export function hostForAddress(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * Whether a host is an IP address rather than a name (IPv4 dotted quad, or
 * IPv6, bracketed or not): SNI can carry only names.
 */
export function isIpLiteral(host: string): boolean {
  const h = unbracketed(host);
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(":");
}
