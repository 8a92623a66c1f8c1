// A small Kubernetes API client on `fetch`: one request shape, results as values
// (never thrown), a timeout on every request (reading its answer included).
// Both the in-cluster path and the kubeconfig path build one of these; only
// how the credentials are obtained differs. Answers are read as they stream,
// keeping only what the request's Pick names (answer.ts); one client serves
// one collection, and its ReadBudget bounds what all its reads take together.
// Its requests take turns: what an answer costs in flight (its connection's
// buffers) is paid for one answer at a time, whatever the sources ask at once.

import { describeNetworkError } from "../net/network_error.ts";
import type { Denial } from "../metrics/source.ts";
import { type OnItem, type Pick, pick } from "./json_pick.ts";
import { type AnswerProgress, readJsonAnswer } from "./answer.ts";
import { ReadBudget } from "./read_budget.ts";
import { formatBytes, MiB } from "../runtime/units.ts";

/** One request to the API server. */
export interface KubeRequest {
  /** GET unless said. */
  method?: "GET" | "POST";
  /** Path from the API root, e.g. `/api/v1/nodes`. */
  path: string;
  /** Query parameters; undefined ones are left out. */
  query?: Record<string, string | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Accept header; JSON when unset. */
  accept?: string;
  /** Aborts the request and the reading of its answer. */
  signal?: AbortSignal;
  /** What to keep of the answer; all of it (up to maxBytes) when unset. */
  pick?: Pick;
  /** Each element of the answer's `items` (when the Pick has them), as read. */
  onItem?: OnItem;
  /** Most bytes of this answer, whatever is left of the budget (default MAX_OBJECT_BYTES). */
  maxBytes?: number;
  /** Budget bytes this read must leave to others (lists leave objectReserve). */
  leaveBytes?: number;
}

/** Why a request failed. */
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
  | "budget"
  | "credentials";

/** A request's outcome: what was kept of the answer, or why there is none. */
export type KubeResponse =
  | { ok: true; status: number; body: unknown; stopped?: boolean }
  | { ok: false; failure: KubeFailure; status?: number; message: string };

/** The API server, as one collection reads it. */
export interface KubeClient {
  /** How the API is reached: the pod's service account, or a kubeconfig. */
  readonly mode: "in-cluster" | "kubeconfig";
  /** The namespace of the service account or the kubeconfig context, when known. */
  readonly namespace?: string;
  /** What every read of this client (of one collection) may still take. */
  readonly budget: ReadBudget;
  /** Sends one request and reads its answer; never throws. */
  request(req: KubeRequest): Promise<KubeResponse>;
  /** Closes the TLS client; the client is not used after. */
  close(): void;
}

/** What a request needs besides its path: fresh for every request (tokens rotate). */
export interface Credentials {
  /** Headers to send, e.g. authorization. */
  headers: Record<string, string>;
}

/** How httpKubeClient reaches the API server. */
export interface HttpKubeClientOptions {
  /** How the API is reached, for messages. */
  mode: "in-cluster" | "kubeconfig";
  /** API server URL, e.g. `https://10.96.0.1:443`. */
  server: string;
  /** The namespace of the service account or the kubeconfig context. */
  namespace?: string;
  /** Called before every request; an Error fails that request only. */
  credentials: () => Promise<Credentials | Error>;
  /** TLS client for the API server's CA (and client certificate); closed by close(). */
  httpClient?: Deno.HttpClient;
  /** Timeout of each request, reading its answer included (KUBERNETES_TIMEOUT). */
  timeoutMs: number;
  /** The byte budget of every read together (default DEFAULT_READ_BUDGET_BYTES). */
  budget?: ReadBudget;
  /** fetch to use instead of the global one (tests, the insecure kubeconfig path). */
  fetch?: typeof fetch;
}

/**
 * Most bytes of one object's answer: etcd stores at most 1.5 MiB per object
 * (a Secret's data at most 1 MiB, 4/3 of it as base64).
 */
const MAX_OBJECT_BYTES = 2 * MiB;

/**
 * HTTP_1_ONLY: the clients of access.ts and kubeconfig.ts speak HTTP/1.1
 * (`http2: false`). Over HTTP/2 the API server may send a whole stream
 * window (megabytes) ahead of a reader that parses as it reads, and the
 * client holds it; over HTTP/1.1 the socket is read as fast as the answer
 * is (measured: an endless answer added 1.1–2.2 MiB over HTTP/2, 0.2–0.8
 * over HTTP/1.1). Requests take turns anyway, so nothing is multiplexed.
 */

/** Most bytes read of an error's answer, for its Status message. */
const MAX_STATUS_BYTES = 64 * 1024;
const STATUS_PICK = pick.object({ message: pick.scalar(1024) });

/** A client of the API server at `options.server`, on fetch. */
export function httpKubeClient(options: HttpKubeClientOptions): KubeClient {
  const budget = options.budget ?? new ReadBudget();
  const inTurn = takingTurns();
  return {
    mode: options.mode,
    namespace: options.namespace,
    budget,
    close: () => options.httpClient?.close(),
    async request(req) {
      const what = `${req.method ?? "GET"} ${req.path}`;
      const creds = await options.credentials().catch((e) =>
        e instanceof Error ? e : new Error(String(e))
      );
      if (creds instanceof Error) {
        return { ok: false, failure: "credentials", message: creds.message };
      }
      const send: Send = { options, req, what, headers: creds.headers, budget };
      // The timeout starts with the request's turn.
      return await inTurn(() =>
        withTimeout(send, options.timeoutMs, req.signal)
      );
    },
  };
}

/** Runs the functions it is given one at a time, in the order given. */
function takingTurns(): <T>(fn: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const turn = last.then(fn, fn);
    last = turn.catch(() => {});
    return turn;
  };
}

interface Send {
  options: HttpKubeClientOptions;
  req: KubeRequest;
  what: string;
  headers: Record<string, string>;
  budget: ReadBudget;
}

/** The request and the reading of its answer, under one timeout. */
async function withTimeout(
  send: Send,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<KubeResponse> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) controller.abort();
  const progress: AnswerProgress = { bytes: 0 };
  try {
    return await exchange(send, controller.signal, progress);
  } catch (e) {
    const read = progress.bytes > 0
      ? ` (${formatBytes(progress.bytes)} of its answer read)`
      : "";
    if (timedOut) {
      return {
        ok: false,
        failure: "timeout",
        message:
          `${send.what}: no complete answer within ${timeoutMs} ms${read}`,
      };
    }
    if (signal?.aborted) {
      return {
        ok: false,
        failure: "aborted",
        message: `${send.what}: aborted`,
      };
    }
    return {
      ok: false,
      failure: "network",
      message: `${send.what}: ${describeNetworkError(e)}${read}`,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

async function exchange(
  send: Send,
  signal: AbortSignal,
  progress: AnswerProgress,
): Promise<KubeResponse> {
  const { options, req, what } = send;
  const url = new URL(options.server.replace(/\/+$/, "") + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) {
    if (v !== undefined) url.searchParams.set(k, v);
  }
  const headers: Record<string, string> = {
    ...send.headers,
    accept: req.accept ?? "application/json",
  };
  if (req.body !== undefined) headers["content-type"] = "application/json";
  const res = await (options.fetch ?? fetch)(url, {
    method: req.method ?? "GET",
    headers,
    body: req.body === undefined ? undefined : JSON.stringify(req.body),
    signal,
    client: options.httpClient,
  } as RequestInit);
  if (!res.ok) return await failed(send, res, progress);
  const type = res.headers.get("content-type");
  if (type !== null && !isJson(type)) {
    await res.body?.cancel().catch(() => {});
    return {
      ok: false,
      failure: "malformed",
      status: res.status,
      message: `${what}: the answer is ${
        JSON.stringify(type.slice(0, 100))
      }, not JSON`,
    };
  }
  const read = await readJsonAnswer(res.body, {
    pick: req.pick ?? pick.any,
    onItem: req.onItem,
    maxBytes: req.maxBytes ?? MAX_OBJECT_BYTES,
    budget: send.budget,
    leaveBytes: req.leaveBytes,
    what,
  }, progress);
  return read.ok
    ? { ok: true, status: res.status, body: read.body, stopped: read.stopped }
    : {
      ok: false,
      failure: read.failure,
      status: res.status,
      message: read.message,
    };
}

const isJson = (type: string) =>
  /^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type.trim());

/** A status other than 2xx, with the Status message when there is one. */
async function failed(
  send: Send,
  res: Response,
  progress: AnswerProgress,
): Promise<KubeResponse> {
  let message = "";
  const type = res.headers.get("content-type");
  if (type !== null && isJson(type)) {
    const read = await readJsonAnswer(res.body, {
      pick: STATUS_PICK,
      maxBytes: MAX_STATUS_BYTES,
      budget: send.budget,
      what: send.what,
    }, progress).catch(() => undefined);
    const text = read?.ok
      ? (read.body as { message?: unknown } | null)?.message
      : undefined;
    if (typeof text === "string" && text !== "") {
      message = ` (${text.slice(0, 200)})`;
    }
  } else await res.body?.cancel().catch(() => {});
  return {
    ok: false,
    failure: failureOf(res.status),
    status: res.status,
    message: `${send.what}: HTTP ${res.status}${message}`,
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

/** A request as access control sees it: verb, resource, scope. */
export interface Operation {
  /** The Kubernetes verb. */
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
    case "budget":
      // "GET /api/v1/nodes: cut off after …" → "list nodes (cluster-wide) cut off after …"
      return `kubernetes: ${describeOp(op)} ${
        res.message.replace(/^[A-Z]+ \S+: /, "")
      }: ${lost}`;
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
