// URLs of the reference transport (`GET <url>/track?data=...&verbose=1`):
// where an event goes, and how a URL may appear in logs.

/**
 * `<base>/track?data=<data>&verbose=1`. A base with a path keeps it
 * (`http://host/base` → `http://host/base/track`), trailing slashes included;
 * a URL that already ends in `/track` is used as it is. The base's own query
 * string and fragment are dropped: configuration refuses them, and they could
 * otherwise shadow `data` or `verbose`. Credentials stay (fetch sends them as
 * Basic auth); never log the result, log `requestedUrl` or `redactUrl`.
 * Throws a TypeError when `base` is not a URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl, trackUrl } from "./url.ts";
 *
 * const url = trackUrl("https://user:secret@receiver/base/", "e30=");
 * assert.equal(
 *   url.href,
 *   "https://user:secret@receiver/base/track?data=e30%3D&verbose=1",
 * );
 * assert.equal(redactUrl(url), "https://receiver/base/track");
 * ```
 */
export function trackUrl(base: string, data: string): URL {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = /\/track$/.test(path) ? path : `${path}/track`;
  url.hash = "";
  url.search = "";
  // URLSearchParams percent-encodes base64's "+", "/" and "=", so receivers
  // that decode the query as a form cannot turn "+" into a space.
  url.searchParams.set("data", data);
  url.searchParams.set("verbose", "1");
  return url;
}

/**
 * A URL fit for logs: scheme, host, port and path only — no credentials, no
 * query string, no fragment, no trailing slash. Text that is not a URL is not
 * echoed (it could hold a secret).
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return "(not a valid URL)";
  }
  const path = parsed.pathname.replace(/\/+$/, "");
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/**
 * The URL an event for `base` is requested from, fit for logs
 * (`http://host/base` → `http://host/base/track`); `redactUrl(base)` when
 * `base` is not a URL.
 */
export function requestedUrl(base: string): string {
  try {
    return redactUrl(trackUrl(base, ""));
  } catch {
    return redactUrl(base);
  }
}

/** `text` with every http(s) URL in it redacted; for error messages from fetch. */
export function redactUrlsIn(text: string): string {
  return text.replace(/https?:\/\/[^\s()<>"']+/g, (match) => redactUrl(match));
}
