// The receiver's routes, on Hono. Everything it needs comes in as options, so
// tests call `app.fetch` directly and other stores plug in without touching the
// request handling. Bodies are read within a size limit, a deadline and a byte
// budget (ingest/body.ts); answers of the read side within the read budget
// (serve/read_side.ts): streamed, and given up when the client stops reading.
//
//   /track, /import   events in (Mixpanel's ingestion API)
//   /engage, /groups  answered: profiles are not recorded here
//   /events, /metrics, /, /clusters/<id>   the read side (a read token when one is set)
//   /healthz          liveness, open

import { Hono } from "hono";
import type { RecordLevel } from "../config/levels.ts";
import { SETTINGS } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import { errorMessage } from "../runtime/error_message.ts";
import {
  BodyBudget,
  type Checked,
  decodeEvents,
  decompress,
  describeProblems,
  excerpt,
  invalid,
  mediaType,
  queryParams,
  readBody,
} from "./ingest/mod.ts";
import {
  type AcceptedEvent,
  EVENT_LIMITS,
  type EventLimits,
  type Rejection,
  type RejectKind,
  stampImported,
} from "./event/mod.ts";
import {
  type AddResult,
  type EventStore,
  StoreBusyError,
  StoreHealth,
} from "./store/mod.ts";
import {
  type FetchApp,
  fixedAnswer,
  fixedAnswerCopies,
  ReadSide,
} from "./serve/mod.ts";

export interface ReceiverAppOptions {
  store: EventStore;
  /** Decides the shape of /events. */
  recordLevel: RecordLevel;
  logger: Logger;
  /** Project tokens accepted; any when empty or absent. */
  acceptedTokens?: ReadonlySet<string>;
  /** The token /events, /metrics and the page ask for; open when absent. */
  readToken?: string;
  /** Largest body, on the wire and after decompression; MAX_BODY_BYTES's default unless set. */
  maxBodyBytes?: number;
  /** Bodies being read or handled, together; 16 of the largest unless given. */
  bodies?: BodyBudget;
  /** Time a body has to arrive, and a client may go without reading an answer; BODY_TIMEOUT's default unless set. */
  bodyTimeoutMs?: number;
  /** Called after each piece of a streamed answer (to pace the heap). */
  onStreamed?: () => void;
  /** Called when a streamed answer is given up: its client stopped reading. */
  onAbandoned?: () => void;
  /** Errors a route threw (answered 500). */
  onError?: (error: unknown) => void;
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
  /** The store's retention (0: none): imported events count no earlier than its start. */
  retentionMs?: number;
  /**
   * Tries a small write to the store: null when it worked, else why not.
   * Tried while the store is failing, so /healthz sees it recover.
   */
  probeStore?: () => string | null;
  /** The read side's answers and budget; one of its own (the default budget) unless given. */
  reads?: ReadSide;
  /** Answers GET /metrics (Prometheus text format); no route when absent. */
  metrics?: ReadRoute;
  /** Answers GET / (the fleet overview), given the request's query string; no route when absent. */
  overview?: ReadRoute;
  /** Answers GET /clusters/<id> (a cluster's page), given the <id> as sent; no route when absent. */
  clusterPage?: ReadRoute;
}

/** A route of the read side: the request (read token checked) and what its path or query names. */
export type ReadRoute = (
  req: Request,
  named: string,
) => Response | Promise<Response>;

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";
/** The reference's verbose success body, byte for byte. */
export const VERBOSE_OK = '{"status":1,"error":""}';
/** Mixpanel's success body when not verbose: the official clients check for exactly this. */
export const PLAIN_OK = "1";
export const EVENTS_PAGE = 100;
export const EVENTS_PAGE_MAX = 1000;
/** Bodies being read or handled together, as a multiple of the largest body, unless given. */
export const IN_FLIGHT_BODIES = 16;
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
  408: "Request Timeout",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  503: "Service Unavailable",
};

type HeaderMap = Record<string, string>;

const TEXT_HEADERS: HeaderMap = {
  "content-type": TEXT,
  "x-content-type-options": "nosniff",
};
/**
 * The success answers' init, shared (a Response is made anew for each): the
 * reference's one header. Their bodies are constants, so nothing in them could
 * be sniffed; one header less is a tenth of the cost of a request to Deno's HTTP server.
 */
const OK_INIT: ResponseInit = { headers: { "content-type": TEXT } };
const verboseOk = fixedAnswerCopies(VERBOSE_OK, OK_INIT);
const plainOk = fixedAnswerCopies(PLAIN_OK, OK_INIT);

const text = (status: number, body: string, headers?: HeaderMap): Response =>
  fixedAnswer(body, {
    status,
    headers: headers ? { ...TEXT_HEADERS, ...headers } : TEXT_HEADERS,
  });

const json = (status: number, value: unknown, headers?: HeaderMap): Response =>
  fixedAnswer(JSON.stringify(value), {
    status,
    headers: { "content-type": JSON_TYPE, ...headers },
  });

/** The query of a request's URL, without "?"; "" when none. */
export function queryOf(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return "";
  const hash = url.indexOf("#", q);
  return hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
}

/** The path of a request URL as sent, percent-encoding kept. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

export function createReceiverApp(options: ReceiverAppOptions): FetchApp {
  const log = options.logger;
  const now = options.now ?? Date.now;
  const limits = options.limits ?? EVENT_LIMITS;
  const maxBody = options.maxBodyBytes ?? SETTINGS.maxBodyBytes.default;
  const bodyLimits = {
    budget: options.bodies ?? new BodyBudget(IN_FLIGHT_BODIES * maxBody),
    maxBytes: maxBody,
    timeoutMs: options.bodyTimeoutMs ?? SETTINGS.bodyTimeoutMs.default,
  };
  const reads = options.reads ?? new ReadSide({
    idleMs: bodyLimits.timeoutMs,
    onPiece: options.onStreamed,
    onAbandoned: options.onAbandoned,
  });
  const accepted = options.acceptedTokens?.size ? options.acceptedTokens : null;
  const storeHealth = new StoreHealth({ now });
  const said = (line: string | null, level: "info" | "error") => {
    if (line !== null) log[level]("{message}", { message: line });
  };
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

  const refuse = (req: Request, route: Route, shape: Shape, r: Rejection) => {
    logRefusal(req.method, route, r);
    hook("onRejected", () => options.onRejected?.(r.kind));
    return answerRefusal(r, shape.verbose, shape.strict);
  };

  /**
   * /track and /import: Mixpanel's ingestion endpoints. An event in the query
   * is answered at once, without a promise, unless the store makes it wait.
   */
  const ingest = (req: Request, route: Route): Response | Promise<Response> => {
    const shape = shapeOf(req, route);
    // A body next to `data` is ignored, as by the reference: Deno drops it.
    if (shape.data !== null) return accept(req, route, shape, EMPTY);
    return ingestBody(req, route, shape);
  };

  const ingestBody = async (
    req: Request,
    route: Route,
    shape: Shape,
  ): Promise<Response> => {
    const read = await readBody(req, bodyLimits);
    if (!read.ok) return refuse(req, route, shape, read.rejection);
    try {
      let body = read.bytes;
      if (body.length > 0) {
        const decoded = await decompress(
          body,
          req.headers.get("content-encoding") ?? undefined,
          maxBody,
        );
        if (!decoded.ok) return refuse(req, route, shape, decoded.rejection);
        body = decoded.bytes;
      }
      return await accept(req, route, shape, body);
    } finally {
      bodyLimits.budget.release(read.reserved);
    }
  };

  /** Decodes the events, records the valid ones and answers. */
  const accept = (
    req: Request,
    route: Route,
    shape: Shape,
    body: Uint8Array,
  ): Response | Promise<Response> => {
    const decoded = decodeEvents({
      data: shape.data,
      body,
      contentType: body.length > 0 ? req.headers.get("content-type") : null,
      fallbackToken: route === "/import" ? basicUser(req) : undefined,
      limits,
    });
    if (!decoded.ok) return refuse(req, route, shape, decoded.rejection);
    const checked = decoded.events;
    const valid: AcceptedEvent[] = [];
    for (const c of checked) if (c.ok) valid.push(c.event);

    if (accepted && valid.some((e) => !accepted.has(e.token))) {
      return refuse(req, route, shape, {
        status: 401,
        kind: "invalid_token",
        message: "invalid project token: this receiver does not accept it",
      });
    }
    if (!shape.strict && valid.length < checked.length) {
      return refuse(req, route, shape, invalidBatch(checked).rejection);
    }
    if (valid.length === 0) return answered(checked, valid, shape);

    const receivedAt = now();
    if (route === "/import") {
      stampImported(valid, receivedAt, options.retentionMs ?? 0);
    }
    const recorded = (result: AddResult) => {
      said(storeHealth.succeeded(), "info");
      hook(
        "onAccepted",
        () => options.onAccepted?.(valid, result, receivedAt),
      );
      return answered(checked, valid, shape);
    };
    const failed = (err: unknown) => {
      // Busy is not failing: the refusal is logged (and counted) as any.
      if (!(err instanceof StoreBusyError)) {
        said(storeHealth.failed(errorMessage(err)), "error");
      }
      return refuse(req, route, shape, {
        status: 503,
        kind: "store_failed",
        message:
          "event not recorded: the receiver's store is failing; send it again later",
      });
    };
    let added: AddResult | Promise<AddResult>;
    try {
      added = options.store.add(valid);
    } catch (err) {
      return failed(err);
    }
    return added instanceof Promise
      ? added.then(recorded, failed)
      : recorded(added);
  };

  /** The success answer, or Mixpanel's strict one. */
  const answered = (
    checked: Checked[],
    valid: AcceptedEvent[],
    shape: Shape,
  ): Response => {
    if (!shape.strict) {
      return shape.verbose ? verboseOk() : plainOk();
    }
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
  };

  const guarded = (
    req: Request,
    serve: () => Response | Promise<Response>,
  ): Response | Promise<Response> => {
    if (readToken === undefined || authorized(req, readToken)) return serve();
    return text(
      401,
      "this page needs the receiver's read token: Authorization: Bearer <token>, or any user name with the token as password\n",
      {
        "www-authenticate": 'Basic realm="hodometer receiver", charset="UTF-8"',
      },
    );
  };

  const streamed = (chunks: Iterable<string>, headers: HeaderMap) =>
    reads.streamed(chunks, { status: 200, headers });

  const listEvents = (req: Request): Response => {
    switch (options.recordLevel) {
      case "none":
        return json(200, []);
      case "summary":
        return json(200, [{ totalEvents: options.store.total() }]);
      case "all":
        return pageOfEvents(req, options.store, streamed);
    }
  };

  const notRecorded = (route: string): Response => {
    hook("onRejected", () => options.onRejected?.("not_recorded"));
    return json(400, {
      status: 0,
      error:
        `${route}: user and group profiles are not recorded by this receiver; it records events (/track, /import) only`,
    });
  };

  const isRead = (req: Request) =>
    req.method === "GET" || req.method === "HEAD";

  // Not strict: Mixpanel's clients call /track/.
  const app = new Hono({ strict: false });
  app.all("/track", (c) => ingest(c.req.raw, "/track"));
  app.all("/import", (c) => ingest(c.req.raw, "/import"));
  app.all("/engage", () => notRecorded("/engage"));
  app.all("/groups", () => notRecorded("/groups"));
  app.all("/events", (c) => {
    const req = c.req.raw;
    if (!isRead(req)) return notAllowed();
    return guarded(req, () => listEvents(req));
  });
  /** The store's health, after a probe write when one is due. */
  const storeStatus = () => {
    if (options.probeStore && storeHealth.probeDue()) {
      const problem = options.probeStore();
      if (problem === null) said(storeHealth.succeeded(), "info");
    }
    return storeHealth.status();
  };
  app.all("/healthz", (c) => {
    const req = c.req.raw;
    if (!isRead(req)) return notAllowed();
    const store = storeStatus();
    return json(store.ok ? 200 : 503, {
      ...(store.ok ? { status: "ok" } : {
        status: "failing",
        reason: store.reason,
        since: new Date(store.sinceMs).toISOString(),
        failedWrites: store.failures,
      }),
      ...(readToken === undefined || authorized(req, readToken)
        ? {
          recordLevel: options.recordLevel,
          totalEvents: options.store.total(),
          ...options.health?.(),
        }
        : {}),
    });
  });
  const { metrics, overview, clusterPage } = options;
  if (metrics) {
    app.all("/metrics", (c) => {
      const req = c.req.raw;
      if (!isRead(req)) return notAllowed();
      return guarded(req, () => metrics(req, ""));
    });
  }
  if (overview) {
    app.all("/", (c) => {
      const req = c.req.raw;
      if (!isRead(req)) return notAllowed();
      return guarded(req, () => overview(req, queryOf(req.url)));
    });
  }
  if (clusterPage) {
    // The id as sent (percent-encoded), from the raw path: Hono's parameter
    // decoding would make two different ids one.
    app.all(`${CLUSTERS}*`, (c) => {
      const req = c.req.raw;
      if (!isRead(req)) return notAllowed();
      const path = pathOf(req.url);
      return guarded(
        req,
        () => clusterPage(req, path.slice(CLUSTERS.length)),
      );
    });
  }
  const internalError = (err: unknown) => {
    if (options.onError) options.onError(err);
    else log.error("request failed: {error}", { error: errorMessage(err) });
    return text(500, "internal error\n");
  };
  app.notFound(() => text(404, "not found\n"));
  app.onError(internalError);
  return {
    // Events in are most of the requests: /track and /import as clients send
    // them skip Hono's routing (about a microsecond a request); any other
    // spelling of them, and every other route, goes through Hono.
    fetch(req) {
      const route = ingestionRoute(req.method, req.url);
      if (route === null) return app.fetch(req);
      try {
        const answer = ingest(req, route);
        return answer instanceof Promise ? answer.catch(internalError) : answer;
      } catch (err) {
        return internalError(err);
      }
    },
  };
}

const CLUSTERS = "/clusters/";

/**
 * "/track" or "/import" for a GET or POST to exactly that path (a trailing "/"
 * allowed, a query or not); null for anything else, which Hono routes.
 */
export function ingestionRoute(method: string, url: string): Route | null {
  if (method !== "GET" && method !== "POST") return null;
  // The path starts at the first "/" after "scheme://", as Hono finds it.
  const start = url.indexOf("/", url.indexOf(":") + 4);
  if (start < 0) return null;
  const route: Route | null = url.startsWith("/track", start)
    ? "/track"
    : url.startsWith("/import", start)
    ? "/import"
    : null;
  if (route === null) return null;
  let end = start + route.length;
  if (url.charCodeAt(end) === SLASH) end++;
  return end === url.length || url.charCodeAt(end) === QUESTION_MARK
    ? route
    : null;
}

const SLASH = 47;
const QUESTION_MARK = 63;

const EMPTY = new Uint8Array(0);
const SHAPE_PARAMS = ["data", "verbose", "strict"] as const;

type Route = "/track" | "/import";
type Shape = ReturnType<typeof shapeOf>;

/** How a request to /track or /import wants its answers, and its `data` parameter. */
function shapeOf(req: Request, route: Route) {
  const params = queryParams(queryOf(req.url), SHAPE_PARAMS);
  // As the reference: verbose when the parameter starts with "1".
  const verbose = (params.verbose ?? "").startsWith("1");
  const strictParam = params.strict;
  const data = params.data;
  // /import answers in its JSON shape unless asked not to, or unless it is
  // used the old way (a data parameter, as the official Node.js library does).
  const strict = strictParam === "1" ||
    (route === "/import" && strictParam !== "0" && data === null &&
      mediaType(req.headers.get("content-type")) !==
        "application/x-www-form-urlencoded");
  return { verbose, strict, data };
}

const notAllowed = () =>
  text(405, "only GET and HEAD are answered here\n", { allow: "GET, HEAD" });

/** The reference's answers (a status object when verbose, else plain text), or /import's JSON. */
function answerRefusal(
  r: Rejection,
  verbose: boolean,
  strict: boolean,
): Response {
  // A failing store is usually passing (a busy queue, a disk being freed).
  const extra: HeaderMap = r.status === 503 ? { "retry-after": "5" } : {};
  // A body not read to its end leaves the connection unusable for the next request.
  if (
    r.kind === "body_timeout" || r.kind === "busy" || r.kind === "too_large"
  ) {
    extra["connection"] = "close";
  }
  if (strict) {
    return json(r.status, {
      code: r.status,
      error: r.kind === "invalid_token" ? "Invalid credentials" : r.message,
      status: STATUS_TEXT[r.status],
    }, extra);
  }
  return verbose
    ? text(r.status, JSON.stringify({ status: 0, error: r.message }), extra)
    : text(r.status, `${r.message}\n`, extra);
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

function pageOfEvents(
  req: Request,
  store: EventStore,
  streamed: (chunks: Iterable<string>, headers: HeaderMap) => Response,
): Response {
  const params = new URLSearchParams(queryOf(req.url));
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
  const headers: HeaderMap = { "content-type": JSON_TYPE };
  if (plan.more) {
    const next = new URLSearchParams({
      cursor: String(plan.lastId),
      limit: String(pageSize),
    });
    if (distinctId !== undefined) next.set("distinct_id", distinctId);
    headers["link"] = `</events?${next}>; rel="next"`;
    headers["x-next-cursor"] = String(plan.lastId);
  }
  return streamed(
    streamRows(store, cursor ?? 0, plan.lastId, distinctId),
    headers,
  );
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
function basicUser(req: Request): string | undefined {
  const credentials = basicCredentials(req.headers.get("authorization"));
  return credentials?.user || undefined;
}

function basicCredentials(
  header: string | null,
): { user: string; password: string } | null {
  if (header === null || !/^basic\s/i.test(header)) return null;
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
export function authorized(req: Request, token: string): boolean {
  const header = req.headers.get("authorization");
  if (header === null) return false;
  if (/^bearer\s/i.test(header)) {
    return sameText(header.slice(7).trim(), token);
  }
  const basic = basicCredentials(header);
  return basic !== null && sameText(basic.password, token);
}

/** Compares in time independent of where the texts differ. */
function sameText(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}
