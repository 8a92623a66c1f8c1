// Why a request failed, in a few words: Deno's fetch says `fetch failed` with
// the cause in a long `error sending request for url (...): client error
// (Connect): ...` chain, and node:https says `connect ECONNREFUSED ...`. Both
// the Kubernetes client and the publisher report failures through this.

import { errorMessage } from "../runtime/error_message.ts";

interface Cause {
  /** Matched against the whole chain of messages (and error codes). */
  pattern: RegExp;
  /** What the operator reads. */
  says: string;
}

const CERT = "TLS: the server's certificate";

const CAUSES: readonly Cause[] = [
  {
    pattern: /UnknownIssuer|unable to (verify|get local issuer)|UNABLE_TO_/i,
    says:
      `${CERT} is not trusted (unknown issuer: no CA this agent trusts signed it)`,
  },
  {
    pattern: /certificate expired|certificate has expired|CERT_HAS_EXPIRED/i,
    says: `${CERT} has expired`,
  },
  {
    pattern: /NotValidYet|not yet valid|CERT_NOT_YET_VALID/i,
    says: `${CERT} is not valid yet (check the clocks)`,
  },
  {
    pattern:
      /not valid for name|NotValidForName|does not match certificate's altnames|ALTNAME_INVALID/i,
    says:
      `${CERT} does not name this host (name mismatch: use the host name it was issued for)`,
  },
  {
    pattern:
      /CaUsedAsEndEntity|self[- ]signed|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT/i,
    says: `${CERT} is self-signed (not issued by a CA this agent trusts)`,
  },
  {
    pattern: /Revoked|CERT_REVOKED/i,
    says: `${CERT} has been revoked`,
  },
  {
    pattern: /invalid peer certificate|certificate verify failed|ERR_TLS_CERT/i,
    says: `${CERT} was not accepted`,
  },
  {
    pattern:
      /alert.*(CertificateRequired|BadCertificate|UnknownCA|certificate required|bad certificate|unknown ca)/i,
    says:
      "TLS: the server refused this agent's client certificate (or wanted one)",
  },
  {
    pattern:
      /InvalidContentType|corrupt message|wrong version number|packet length too long|EPROTO/i,
    says:
      "TLS handshake failed: the server does not speak TLS on this port (http:// instead of https://?)",
  },
  {
    pattern: /invalid HTTP version parsed|HPE_INVALID/i,
    says:
      "the server did not answer in HTTP (does it speak TLS? then use https://)",
  },
  {
    pattern: /Connection refused|ECONNREFUSED/i,
    says: "connection refused (nothing listens on that port)",
  },
  {
    pattern:
      /Name or service not known|No address associated|nodename nor servname|ENOTFOUND|NXDOMAIN|failed to lookup address information: (?!Temporary)/i,
    says: "DNS: host name not found",
  },
  {
    pattern: /dns error|Temporary failure in name resolution|EAI_AGAIN/i,
    says: "DNS: the host name could not be resolved (no answer from DNS)",
  },
  {
    pattern: /timed out|ETIMEDOUT|TimeoutError/i,
    says: "timeout",
  },
  {
    pattern: /Connection reset|ECONNRESET|broken pipe|EPIPE/i,
    says: "connection reset by the server",
  },
  {
    pattern:
      /connection closed before message completed|socket hang up|unexpected end of file|IncompleteMessage/i,
    says: "connection closed by the server before it answered",
  },
  {
    pattern:
      /Network is unreachable|ENETUNREACH|No route to host|EHOSTUNREACH/i,
    says: "network unreachable (no route to the host)",
  },
];

/** The messages (and codes) of an error and its causes, outermost first. */
function chain(error: unknown): string[] {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    const message = errorMessage(current);
    const code = (current as { code?: unknown } | null)?.code;
    const name = current instanceof Error ? current.name : "";
    const text = [
      name === "Error" || name === "TypeError" ? "" : name,
      typeof code === "string" ? code : "",
      message,
    ].filter((s) => s !== "").join(" ");
    if (text && !parts.includes(text)) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts;
}

/**
 * A failed request's cause in a few words when it is a known one (TLS
 * verification and which certificate problem, connection refused, DNS,
 * timeout, connection reset); otherwise the error's own chain of messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeNetworkError } from "./network_error.ts";
 *
 * const error = new TypeError("fetch failed", {
 *   cause: new Error("tcp connect error: Connection refused (os error 111)"),
 * });
 * assert.equal(
 *   describeNetworkError(error),
 *   "connection refused (nothing listens on that port)",
 * );
 * ```
 */
export function describeNetworkError(error: unknown): string {
  const parts = chain(error);
  const all = parts.join(": ");
  const known = CAUSES.find((c) => c.pattern.test(all));
  if (known) return known.says;
  return all || "network error";
}
