// A small Kubernetes API client on `fetch`: one request shape, results as values
// (never thrown), a timeout on every request, a cap on response size. Both the
// in-cluster path and the kubeconfig path build one of these; only how the
// credentials are obtained differs.

import { describeNetworkError } from "../network_error.ts";
import type { Denial } from "../collect/source.ts";

export interface KubeRequest {
  method?: "GET" | "POST";
  /** Path from the API root, e.g. `/api/v1/nodes`. */
  path: string;
  query?: Record<string, string | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Accept header; JSON when unset. */
  accept?: string;
  signal?: AbortSignal;
}

export type KubeFailure =
  | "unauthorized"
  | "forbidden"
  | "not found"
  | "conflict"
  | "gone"
  | "http"
  | "network"
  | "timeout"
  | "aborted"
  | "malformed"
  | "too large"
  | "credentials";

export type KubeResponse =
  | { ok: true; status: number; body: unknown }
  | { ok: false; failure: KubeFailure; status?: number; message: string };

export interface KubeClient {
  readonly mode: "in-cluster" | "kubeconfig";
  /** The namespace of the service account or the kubeconfig context, when known. */
  readonly namespace?: string;
  request(req: KubeRequest): Promise<KubeResponse>;
  close(): void;
}

/** What a request needs besides its path: fresh for every request (tokens rotate). */
export interface Credentials {
  headers: Record<string, string>;
}

export interface HttpKubeClientOptions {
  mode: "in-cluster" | "kubeconfig";
  /** API server URL, e.g. `https://10.96.0.1:443`. */
  server: string;
  namespace?: string;
  /** Called before every request; an Error fails that request only. */
  credentials: () => Promise<Credentials | Error>;
  /** TLS client for the API server's CA (and client certificate); closed by close(). */
  httpClient?: Deno.HttpClient;
  timeoutMs: number;
  maxResponseBytes?: number;
  fetch?: typeof fetch;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export function httpKubeClient(options: HttpKubeClientOptions): KubeClient {
  const doFetch = options.fetch ?? fetch;
  const base = options.server.replace(/\/+$/, "");
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  return {
    mode: options.mode,
    namespace: options.namespace,
    close: () => options.httpClient?.close(),
    async request(req) {
      const url = new URL(base + req.path);
      for (const [k, v] of Object.entries(req.query ?? {})) {
        if (v !== undefined) url.searchParams.set(k, v);
      }
      const what = `${req.method ?? "GET"} ${req.path}`;
      const creds = await options.credentials().catch((e) =>
        e instanceof Error ? e : new Error(String(e))
      );
      if (creds instanceof Error) {
        return { ok: false, failure: "credentials", message: creds.message };
      }
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, options.timeoutMs);
      const onAbort = () => controller.abort();
      req.signal?.addEventListener("abort", onAbort, { once: true });
      if (req.signal?.aborted) controller.abort();
      try {
        const headers: Record<string, string> = {
          ...creds.headers,
          accept: req.accept ?? "application/json",
        };
        if (req.body !== undefined) {
          headers["content-type"] = "application/json";
        }
        const res = await doFetch(url, {
          method: req.method ?? "GET",
          headers,
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
          signal: controller.signal,
          client: options.httpClient,
        } as RequestInit);
        const text = await readCapped(res, maxBytes);
        if (text === undefined) {
          return {
            ok: false,
            failure: "too large",
            status: res.status,
            message: `${what}: response larger than ${maxBytes} bytes`,
          };
        }
        if (!res.ok) {
          return {
            ok: false,
            failure: failureOf(res.status),
            status: res.status,
            message: `${what}: HTTP ${res.status}${statusMessage(text)}`,
          };
        }
        try {
          return { ok: true, status: res.status, body: JSON.parse(text) };
        } catch {
          return {
            ok: false,
            failure: "malformed",
            status: res.status,
            message: `${what}: response is not JSON`,
          };
        }
      } catch (e) {
        if (timedOut) {
          return {
            ok: false,
            failure: "timeout",
            message: `${what}: no answer within ${options.timeoutMs} ms`,
          };
        }
        if (req.signal?.aborted) {
          return { ok: false, failure: "aborted", message: `${what}: aborted` };
        }
        return {
          ok: false,
          failure: "network",
          message: `${what}: ${describeNetworkError(e)}`,
        };
      } finally {
        clearTimeout(timer);
        req.signal?.removeEventListener("abort", onAbort);
      }
    },
  };
}

function failureOf(status: number): KubeFailure {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 409:
      return "conflict";
    case 410:
      return "gone";
    default:
      return "http";
  }
}

/** The `message` of a Kubernetes Status body, shortened, when there is one. */
function statusMessage(text: string): string {
  try {
    const body = JSON.parse(text);
    if (typeof body?.message === "string" && body.message !== "") {
      return ` (${body.message.slice(0, 200)})`;
    }
  } catch {
    // not a Status object: the HTTP status says enough
  }
  return "";
}

/** The body as text, or undefined when it exceeds the cap (the rest is not read). */
async function readCapped(
  res: Response,
  maxBytes: number,
): Promise<string | undefined> {
  if (!res.body) return "";
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await res.body.cancel();
    return undefined;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

export interface Operation {
  verb: "get" | "list" | "create";
  /** Plural resource, e.g. `nodes`, `servers.mlops.seldon.io`, or a URL such as `/version`. */
  resource: string;
  /** Where: "cluster-wide" or `in namespace X`. */
  scope: string;
  /** Set for a single named object. */
  name?: string;
}

function describeOp(op: Operation): string {
  const obj = op.name ? `${op.resource} "${op.name}"` : op.resource;
  return `${op.verb} ${obj} (${op.scope})`;
}

/**
 * The denial behind a failed request, when access control refused it (403):
 * what it cost and where to grant it; undefined for any other failure.
 */
export function denialOf(
  op: Operation,
  res: Extract<KubeResponse, { ok: false }>,
  cost: string,
): Denial | undefined {
  if (res.failure !== "forbidden") return undefined;
  return {
    request: describeOp(op),
    grantIn: op.scope === "cluster-wide" ? "ClusterRole" : "Role",
    cost,
    message: explainFailure(op, res, cost),
  };
}

/** An Error value that carries the denial behind it, when there is one. */
export type DeniableError = Error & { denial?: Denial };

/** explainFailure as an Error value, with its denial for a 403. */
export function failureError(
  op: Operation,
  res: Extract<KubeResponse, { ok: false }>,
  cost: string,
): DeniableError {
  return Object.assign(new Error(explainFailure(op, res, cost)), {
    denial: denialOf(op, res, cost),
  });
}

/**
 * One line for the operator explaining a failed request: for 401/403/404 the
 * missing permission (verb, resource, scope) and what is lost.
 */
export function explainFailure(
  op: Operation,
  res: Extract<KubeResponse, { ok: false }>,
  lost: string,
): string {
  const grant = op.resource.startsWith("/")
    ? `grant "${op.verb}" on the non-resource URL "${op.resource}"`
    : `grant "${op.verb}" on "${op.resource}"${
      op.scope === "cluster-wide" ? " in a ClusterRole" : " in a Role"
    }`;
  switch (res.failure) {
    case "forbidden":
      return `kubernetes: forbidden to ${describeOp(op)}: ${lost}; ${grant}`;
    case "unauthorized":
      return `kubernetes: unauthorized to ${
        describeOp(op)
      } (HTTP 401: the token or credentials were rejected): ${lost}`;
    case "not found":
      return `kubernetes: ${describeOp(op)} answered 404 (not found${
        op.resource.includes(".") && !op.name
          ? "; is the custom resource definition installed?"
          : ""
      }): ${lost}`;
    default:
      return `kubernetes: cannot ${describeOp(op)}: ${res.message}: ${lost}`;
  }
}
