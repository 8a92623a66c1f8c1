// The receiver's routes, over requests read whole by the HTTP server (see
// http1.ts). Everything it needs comes in as options, so tests call `handle`
// directly and other stores plug in without touching the request handling.
//
//   /track, /import   events in (Mixpanel's ingestion API)
//   /engage, /groups  answered: profiles are not recorded here
//   /events, /metrics, /, /clusters/<id>   the read side (a read token when one is set)
//   /healthz          liveness, open

import type { RecordLevel } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import { errorMessage } from "../error_message.ts";
import {
  type Checked,
  decodeEvents,
  describeProblems,
  excerpt,
  invalid,
  type Rejection,
  type RejectKind,
} from "./decode.ts";
import { EVENT_LIMITS, type EventLimits } from "./limits.ts";
import type { HttpRequest, HttpResponse, RequestHead } from "./http1.ts";
import type { AcceptedEvent, AddResult, EventStore } from "./store.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
import { PAGE_CSP, type PageAnswer } from "./page.ts";
import { decompress } from "./compression.ts";
import { queryParams } from "./query.ts";

export interface ReceiverAppOptions {
  store: EventStore;
  /** Decides the shape of /events. */
  recordLevel: RecordLevel;
  logger: Logger;
  /** Project tokens accepted; any when empty or absent. */
  acceptedTokens?: ReadonlySet<string>;
  /** The token /events, /metrics and the page ask for; open when absent. */
  readToken?: string;
  /** Largest body after decompression; 1 MiB unless set. */
  maxDecodedBytes?: number;
  limits?: EventLimits;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Called after events were recorded, before the client is answered. */
  onAccepted?: (
    events: readonly AcceptedEvent[],
    result: AddResult,
    receivedAtMs: number,
  ) => void;
  /** Called for every refused request. */
  onRejected?: (reason: RejectKind) => void;
  /** Extra fields for /healthz (store statistics and the like). */
  health?: () => Record<string, unknown>;
  /** The body of GET /metrics (Prometheus text format), chunk by chunk; no route when absent. */
  metrics?: () => Iterable<string>;
  /** GET / (the fleet overview) for the request's query string; no route when absent. */
  overview?: (query: string) => PageAnswer;
  /** GET /clusters/<id> (a cluster's page), given the <id> as sent; no route when absent. */
  clusterPage?: (rawId: string) => PageAnswer;
}

export interface ReceiverApp {
  handle(request: HttpRequest): HttpResponse | Promise<HttpResponse>;
  /** The answer to a request the server refused after its head (body too large, busy). */
  refusal(head: RequestHead, status: number, message: string): HttpResponse;
}

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";
/** The reference's verbose success body, byte for byte. */
export const VERBOSE_OK = '{"status":1,"error":""}';
/** Mixpanel's success body when not verbose: the official clients check for exactly this. */
export const PLAIN_OK = "1";
export const EVENTS_PAGE = 100;
export const EVENTS_PAGE_MAX = 1000;
/** Rows, and characters of JSON, read from the store per chunk of an /events answer. */
const ROWS_PER_CHUNK = 50;
const CHARS_PER_CHUNK = 256 * 1024;
/** Refusals logged per LOG_WINDOW_MS; the rest are counted and said in the next line. */
const LOGGED_REFUSALS = 10;
const LOG_WINDOW_MS = 10_000;

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  503: "Service Unavailable",
};

const TEXT_HEADERS = Object.freeze({
  "content-type": TEXT,
  "x-content-type-options": "nosniff",
});
/** The success answers, shared (the server keeps their bytes). */
const OK_VERBOSE: HttpResponse = Object.freeze({
  status: 200,
  headers: TEXT_HEADERS,
  body: VERBOSE_OK,
});
const OK_PLAIN: HttpResponse = Object.freeze({
  status: 200,
  headers: TEXT_HEADERS,
  body: PLAIN_OK,
});

const text = (
  status: number,
  body: string,
  headers: Record<string, string> = {},
): HttpResponse => ({
  status,
  headers: {
    "content-type": TEXT,
    "x-content-type-options": "nosniff",
    ...headers,
  },
  body,
});

const json = (
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): HttpResponse => ({
  status,
  headers: { "content-type": JSON_TYPE, ...headers },
  body: JSON.stringify(value),
});

export function createReceiverApp(options: ReceiverAppOptions): ReceiverApp {
  const log = options.logger;
  const now = options.now ?? Date.now;
  const limits = options.limits ?? EVENT_LIMITS;
  const maxDecoded = options.maxDecodedBytes ?? 1024 * 1024;
  const accepted = options.acceptedTokens?.size ? options.acceptedTokens : null;
  const readToken = options.readToken;

  let windowStart = 0;
  let loggedInWindow = 0;
  let suppressed = 0;
  const logRefusal = (method: string, route: string, r: Rejection) => {
    const at = now();
    if (at - windowStart >= LOG_WINDOW_MS) {
      windowStart = at;
      loggedInWindow = 0;
    }
    if (loggedInWindow >= LOGGED_REFUSALS) {
      suppressed++;
      return;
    }
    loggedInWindow++;
    const more = suppressed > 0 ? ` (and ${suppressed} more not logged)` : "";
    suppressed = 0;
    log.info(`refused {method} {route}: {status} {message}${more}`, {
      method: excerpt(method, 20),
      route,
      status: r.status,
      message: excerpt(r.message),
    });
  };
  const hook = (name: string, call: () => void) => {
    try {
      call();
    } catch (err) {
      log.warn("{hook} hook failed: {error}", {
        hook: name,
        error: errorMessage(err),
      });
    }
  };

  /** /track and /import: Mixpanel's ingestion endpoints. */
  const ingest = async (
    req: HttpRequest,
    route: "/track" | "/import",
  ): Promise<HttpResponse> => {
    const { verbose, strict, data, contentType } = shapeOf(req, route);
    const refuse = (r: Rejection): HttpResponse => {
      logRefusal(req.method, route, r);
      hook("onRejected", () => options.onRejected?.(r.kind));
      return answerRefusal(r, verbose, strict);
    };

    let body = req.body;
    if (data === null && body.length > 0) {
      const decoded = await decompress(
        body,
        req.headers.get("content-encoding"),
        maxDecoded,
      );
      if (!decoded.ok) return refuse(decoded.rejection);
      body = decoded.bytes;
    }
    const decoded = decodeEvents({
      data,
      body,
      contentType,
      fallbackToken: route === "/import" ? basicUser(req) : undefined,
      limits,
    });
    if (!decoded.ok) return refuse(decoded.rejection);
    const checked = decoded.events;
    const valid: AcceptedEvent[] = [];
    for (const c of checked) if (c.ok) valid.push(c.event);

    if (accepted && valid.some((e) => !accepted.has(e.token))) {
      return refuse({
        status: 401,
        kind: "invalid_token",
        message: "invalid project token: this receiver does not accept it",
      });
    }
    if (!strict && valid.length < checked.length) {
      return refuse(invalidBatch(checked).rejection);
    }

    let result: AddResult = { added: 0, duplicates: 0, fresh: [] };
    const receivedAt = now();
    if (valid.length > 0) {
      try {
        const added = options.store.add(valid);
        result = added instanceof Promise ? await added : added;
      } catch (err) {
        log.error("could not record {count} event(s): {error}", {
          count: valid.length,
          error: errorMessage(err),
        });
        return refuse({
          status: 503,
          kind: "store_failed",
          message:
            "event not recorded: the receiver's store is failing; send it again later",
        });
      }
      hook(
        "onAccepted",
        () => options.onAccepted?.(valid, result, receivedAt),
      );
    }
    if (strict) {
      if (valid.length === checked.length) {
        return json(200, {
          code: 200,
          num_records_imported: valid.length,
          status: "OK",
        });
      }
      hook("onRejected", () => options.onRejected?.("invalid_event"));
      return json(400, {
        code: 400,
        error: "some data points in the request failed validation",
        status: "Bad Request",
        num_records_imported: valid.length,
        failed_records: failedRecords(checked),
      });
    }
    return verbose ? OK_VERBOSE : OK_PLAIN;
  };

  const guarded = (
    req: HttpRequest,
    serve: () => HttpResponse,
  ): HttpResponse => {
    if (readToken === undefined || authorized(req, readToken)) return serve();
    return text(
      401,
      "this page needs the receiver's read token: Authorization: Bearer <token>, or any user name with the token as password\n",
      {
        "www-authenticate": 'Basic realm="hodometer receiver", charset="UTF-8"',
      },
    );
  };

  const listEvents = (req: HttpRequest): HttpResponse => {
    switch (options.recordLevel) {
      case "none":
        return json(200, []);
      case "summary":
        return json(200, [{ totalEvents: options.store.total() }]);
      case "all":
        return pageOfEvents(req, options.store);
    }
  };

  const notRecorded = (route: string): HttpResponse => {
    hook("onRejected", () => options.onRejected?.("not_recorded"));
    return json(400, {
      status: 0,
      error:
        `${route}: user and group profiles are not recorded by this receiver; it records events (/track, /import) only`,
    });
  };

  return {
    refusal(head: RequestHead, status: number, message: string) {
      const route = routeOf(head.path);
      if (route !== "/track" && route !== "/import") {
        return text(status, `${message}\n`);
      }
      const { verbose, strict } = shapeOf(head, route);
      const r: Rejection = {
        status: status as Rejection["status"],
        kind: status === 413
          ? "too_large"
          : status === 503
          ? "busy"
          : "unreadable_body",
        message,
      };
      logRefusal(head.method, route, r);
      hook("onRejected", () => options.onRejected?.(r.kind));
      return answerRefusal(r, verbose, strict);
    },
    handle(req: HttpRequest): HttpResponse | Promise<HttpResponse> {
      const route = routeOf(req.path);
      const read = req.method === "GET" || req.method === "HEAD";
      switch (route) {
        case "/track":
        case "/import":
          return ingest(req, route);
        case "/engage":
        case "/groups":
          return notRecorded(route);
        case "/events":
          if (!read) return notAllowed();
          return guarded(req, () => listEvents(req));
        case "/healthz":
          if (!read) return notAllowed();
          return json(200, {
            status: "ok",
            ...(readToken === undefined || authorized(req, readToken)
              ? {
                recordLevel: options.recordLevel,
                totalEvents: options.store.total(),
                ...options.health?.(),
              }
              : {}),
          });
        case "/metrics": {
          const metrics = options.metrics;
          if (!metrics) break;
          if (!read) return notAllowed();
          return guarded(req, () => ({
            status: 200,
            headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
            body: metrics(),
          }));
        }
        case "/": {
          const overview = options.overview;
          if (!overview) break;
          if (!read) return notAllowed();
          return guarded(req, () => html(overview(req.query)));
        }
      }
      const clusterPage = options.clusterPage;
      if (clusterPage && route.startsWith(CLUSTERS)) {
        if (!read) return notAllowed();
        return guarded(
          req,
          () => html(clusterPage(route.slice(CLUSTERS.length))),
        );
      }
      return text(404, "not found\n");
    },
  };
}

const CLUSTERS = "/clusters/";

const html = (page: PageAnswer): HttpResponse => ({
  status: page.status,
  headers: {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": PAGE_CSP,
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
  },
  body: page.html,
});

/** The path with one trailing slash dropped (Mixpanel's clients call /track/). */
const routeOf = (path: string) =>
  path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;

const SHAPE_PARAMS = ["data", "verbose", "strict"] as const;

/** How a request to /track or /import wants its answers. */
function shapeOf(
  req: Pick<HttpRequest, "query" | "headers">,
  route: "/track" | "/import",
) {
  const params = queryParams(req.query, SHAPE_PARAMS);
  // As the reference: verbose when the parameter starts with "1".
  const verbose = (params.verbose ?? "").startsWith("1");
  const strictParam = params.strict;
  const data = params.data;
  const contentType = req.headers.get("content-type") ?? null;
  // /import answers in its JSON shape unless asked not to, or unless it is
  // used the old way (a data parameter, as the official Node.js library does).
  const strict = strictParam === "1" ||
    (route === "/import" && strictParam !== "0" && data === null &&
      (contentType ?? "").split(";")[0].trim().toLowerCase() !==
        "application/x-www-form-urlencoded");
  return { verbose, strict, data, contentType };
}

const notAllowed = () =>
  text(405, "only GET and HEAD are answered here\n", { allow: "GET, HEAD" });

/** The reference's answers (a status object when verbose, else plain text), or /import's JSON. */
function answerRefusal(
  r: Rejection,
  verbose: boolean,
  strict: boolean,
): HttpResponse {
  // A failing store is usually passing (a busy queue, a disk being freed).
  const retry: Record<string, string> = r.status === 503
    ? { "retry-after": "5" }
    : {};
  if (strict) {
    return json(r.status, {
      code: r.status,
      error: r.kind === "invalid_token" ? "Invalid credentials" : r.message,
      status: STATUS_TEXT[r.status],
    }, retry);
  }
  return verbose
    ? text(r.status, JSON.stringify({ status: 0, error: r.message }), retry)
    : text(r.status, `${r.message}\n`, retry);
}

/** Why a request with invalid events records none of them (not strict). */
function invalidBatch(checked: Checked[]) {
  const first = checked.findIndex((c) => !c.ok);
  const bad = checked[first] as Extract<Checked, { ok: false }>;
  const detail = describeProblems(bad.problems);
  const refused = checked.length === 1 ? invalid(detail) : invalid(
    `event ${first} of the batch (counting from 0): ${detail}; no event of this batch was recorded`,
  );
  return refused as Extract<typeof refused, { ok: false }>;
}

/** Mixpanel's per-event failures of a strict request. */
function failedRecords(checked: Checked[]) {
  const out: Array<
    { index: number; insert_id: string; field: string; message: string }
  > = [];
  checked.forEach((c, index) => {
    if (c.ok) return;
    for (const p of c.problems) {
      out.push({
        index,
        insert_id: c.insertId ?? "",
        field: p.field,
        message: p.message,
      });
    }
  });
  return out;
}

function pageOfEvents(req: HttpRequest, store: EventStore): HttpResponse {
  const params = new URLSearchParams(req.query);
  const limit = wholeNumber(params.get("limit"), 1, EVENTS_PAGE_MAX);
  const cursor = wholeNumber(params.get("cursor"), 0, Number.MAX_SAFE_INTEGER);
  if (limit === null) {
    return text(
      400,
      `limit must be a whole number from 1 to ${EVENTS_PAGE_MAX}\n`,
    );
  }
  if (cursor === null) {
    return text(400, "cursor must be a cursor given by a previous page\n");
  }
  const distinctId = params.get("distinct_id") ?? undefined;
  const pageSize = limit ?? EVENTS_PAGE;
  const plan = store.planPage({
    after: cursor ?? 0,
    limit: pageSize,
    distinctId,
  });
  const headers: Record<string, string> = { "content-type": JSON_TYPE };
  if (plan.more) {
    const next = new URLSearchParams({
      cursor: String(plan.lastId),
      limit: String(pageSize),
    });
    if (distinctId !== undefined) next.set("distinct_id", distinctId);
    headers["link"] = `</events?${next}>; rel="next"`;
    headers["x-next-cursor"] = String(plan.lastId);
  }
  return {
    status: 200,
    headers,
    body: streamRows(store, cursor ?? 0, plan.lastId, distinctId),
  };
}

/** The rows (after, upTo] as a JSON array, a few rows at a time. */
function* streamRows(
  store: EventStore,
  after: number,
  upTo: number,
  distinctId: string | undefined,
): Generator<string> {
  yield "[";
  let first = true;
  for (let from = after; from < upTo;) {
    const rows = store.rows(
      from,
      upTo,
      ROWS_PER_CHUNK,
      distinctId,
      CHARS_PER_CHUNK,
    );
    if (rows.length === 0) break;
    let out = "";
    for (const row of rows) {
      from = row.id;
      if (!isJsonObject(row.properties)) continue; // damaged outside hodometer
      out += `${first ? "" : ","}{"event":${
        JSON.stringify(row.event)
      },"properties":${row.properties},"received_at":${
        JSON.stringify(new Date(row.receivedAtMs).toISOString())
      }}`;
      first = false;
    }
    yield out;
  }
  yield "]";
}

function isJsonObject(text: string): boolean {
  // Rows of an older receiver may be huge: parsing them would cost more than it tells.
  if (text.length > 64 * 1024) {
    return text.startsWith("{") && text.endsWith("}");
  }
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** undefined when absent, null when present but not a whole number in range. */
function wholeNumber(
  raw: string | null,
  min: number,
  max: number,
): number | undefined | null {
  if (raw === null) return undefined;
  if (!/^\d{1,16}$/.test(raw.trim())) return null;
  const n = Number(raw.trim());
  return n >= min && n <= max ? n : null;
}

/** The user name of Basic credentials (Mixpanel's project-token authentication of /import). */
function basicUser(req: HttpRequest): string | undefined {
  const credentials = basicCredentials(req);
  return credentials?.user || undefined;
}

function basicCredentials(
  req: HttpRequest,
): { user: string; password: string } | null {
  const header = req.headers.get("authorization");
  if (header === undefined || !/^basic\s/i.test(header)) return null;
  try {
    const decoded = new TextDecoder().decode(
      Uint8Array.fromBase64(header.slice(6).trim()),
    );
    const colon = decoded.indexOf(":");
    return colon < 0
      ? { user: decoded, password: "" }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  } catch {
    return null;
  }
}

/** A bearer token, or Basic credentials whose password is the token. */
export function authorized(req: HttpRequest, token: string): boolean {
  const header = req.headers.get("authorization");
  if (header === undefined) return false;
  if (/^bearer\s/i.test(header)) {
    return sameText(header.slice(7).trim(), token);
  }
  const basic = basicCredentials(req);
  return basic !== null && sameText(basic.password, token);
}

/** Compares in time independent of where the texts differ. */
function sameText(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}
