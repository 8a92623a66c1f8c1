// The receiver's routes, on Hono. Everything it needs comes in as options, so
// tests call `app.fetch` directly and other stores plug in without touching the
// request handling. Bodies are read within a size limit, a deadline and a byte
// budget (ingest/body.ts); answers of the read side within the read budget
// (serve/read_side.ts): streamed, and given up when the client stops reading.
//
//   /track, /import   events in (Mixpanel's ingestion API): ingest_route.ts
//   /engage, /groups  answered: profiles are not recorded here
//   /events, /metrics, /, /clusters/<id>   the read side, behind the read token
//   /healthz          liveness, open; more for a reader
//
// Every route is Hono's (the ingestion routes as clients spell them also by a
// measured shortcut, below). The read side's routes go through Hono's
// middleware (its secure headers, the read token on the context:
// read_token.ts); the ingestion routes through none, since they are most of
// the requests and a handler alone is answered without a promise.

import { type Handler, Hono, type MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { RecordLevel } from "../config/levels.ts";
import { SETTINGS } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import { errorMessage } from "../runtime/error_message.ts";
import { jsonAnswer, notAllowed, textAnswer } from "./answers.ts";
import {
  type AcceptedEvent,
  EVENT_LIMITS,
  type EventLimits,
  type RejectKind,
} from "./event/mod.ts";
import { listEvents } from "./events_route.ts";
import { BodyBudget, type BodyLimits } from "./ingest/mod.ts";
import {
  Ingestion,
  type IngestRoute,
  loggedHealth,
  queryOf,
} from "./ingest_route.ts";
import { presentsToken, unauthorized } from "./read_token.ts";
import { RefusalLog } from "./refusal_log.ts";
import { type FetchApp, ReadSide } from "./serve/mod.ts";
import { type AddResult, type EventStore, StoreHealth } from "./store/mod.ts";
import { PAGE_CSP_DIRECTIVES } from "./views/mod.ts";

/** What a receiver's routes are made of. */
export interface ReceiverAppOptions {
  /** Where events are recorded and read from. */
  store: EventStore;
  /** Decides the shape of /events. */
  recordLevel: RecordLevel;
  /** Where refusals, failures and hooks that threw are said. */
  logger: Logger;
  /** Project tokens accepted; any when empty or absent. */
  acceptedTokens?: ReadonlySet<string>;
  /** The token /events, /metrics and the page ask for; open when absent. */
  readToken?: string;
  /** Largest body, on the wire and after decompression; 1 MiB unless set. */
  maxBodyBytes?: number;
  /** Bodies being read or handled, together; 16 of the largest unless given. */
  bodies?: BodyBudget;
  /** Time a body has to arrive, and a client may go without reading an answer; 10 s unless set. */
  bodyTimeoutMs?: number;
  /** Called after each piece of a streamed answer (to pace the heap). */
  onStreamed?: () => void;
  /** Called when a streamed answer is given up: its client stopped reading. */
  onAbandoned?: () => void;
  /** Errors a route threw (answered 500). */
  onError?: (error: unknown) => void;
  /** What an event is held to; EVENT_LIMITS unless given. */
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

/** Bodies being read or handled together, as a multiple of the largest body, unless given. */
const IN_FLIGHT_BODIES = 16;

/** Where a cluster's page is: /clusters/<its distinct_id, percent-encoded>. */
const CLUSTERS = "/clusters/";

/**
 * Hono's secure headers on every answer of the read side: the pages' policy,
 * no sniffing, no framing, no referrer, no use by other origins. Not HSTS: the
 * receiver cannot know how it is reached, and a proxy's HTTPS would make it
 * pin every subdomain for half a year. Not the headers of browsers past
 * (X-XSS-Protection, X-Download-Options, X-Permitted-Cross-Domain-Policies)
 * nor those about windows and prefetching a page without links out and
 * without script has no use for: each header costs every answer.
 */
const SECURE_HEADERS = {
  contentSecurityPolicy: PAGE_CSP_DIRECTIVES,
  strictTransportSecurity: false,
  xFrameOptions: "DENY",
  xXssProtection: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xDnsPrefetchControl: false,
  originAgentCluster: false,
  crossOriginOpenerPolicy: false,
  removePoweredBy: false,
} as const;

/** The receiver's routes. */
export function createReceiverApp(options: ReceiverAppOptions): FetchApp {
  const parts = appParts(options);
  const app = new Hono<ReadEnv>({ strict: false });
  // Not strict: Mixpanel's clients call /track/.
  app.all("/track", (c) => parts.ingestion.handle(c.req.raw, "/track"));
  app.all("/import", (c) => parts.ingestion.handle(c.req.raw, "/import"));
  app.all("/engage", () => parts.notRecorded("/engage"));
  app.all("/groups", () => parts.notRecorded("/groups"));
  readRoutes(app, parts, options);
  app.notFound(() => textAnswer(404, "not found\n"));
  app.onError(parts.internalError);
  // Events in are most of the requests: /track and /import as clients send
  // them skip Hono's routing (its context and router match) and go straight
  // to the ingestion handler the routes above call too; any other spelling of
  // them, and every other route, goes through Hono. Measured with `deno task
  // bench --baseline` against every route through Hono, at record level
  // summary: CPU per request 9.6 -> 8.4 us, requests/s 0.52 -> 0.55 x a bare
  // Deno.serve; at "all" (a SQLite write per event) no difference.
  return {
    fetch(req) {
      const route = ingestionRoute(req.method, req.url);
      if (route === null) return app.fetch(req);
      try {
        const answer = parts.ingestion.handle(req, route);
        return answer instanceof Promise
          ? answer.catch(parts.internalError)
          : answer;
      } catch (err) {
        return parts.internalError(err);
      }
    },
  };
}

/**
 * "/track" or "/import" for a GET or POST to exactly that path (a trailing "/"
 * allowed, a query or not); null for anything else, which Hono routes.
 */
export function ingestionRoute(
  method: string,
  url: string,
): IngestRoute | null {
  if (method !== "GET" && method !== "POST") return null;
  const start = pathStart(url);
  if (start < 0) return null;
  const route: IngestRoute | null = url.startsWith("/track", start)
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

/** What the routes share: resolved options, the ingestion, the read side and the store's health. */
interface AppParts {
  ingestion: Ingestion;
  reads: ReadSide;
  storeHealth: StoreHealth;
  /** The store's health told of a probe that worked. */
  probed: () => void;
  /** An answer made for its reader as it reads, within the read budget. */
  streamed: (
    chunks: Iterable<string>,
    headers: Record<string, string>,
  ) => Response;
  notRecorded: (route: string) => Response;
  internalError: (error: unknown) => Response;
}

/** The options with their defaults, made into the parts the routes use. */
function appParts(options: ReceiverAppOptions): AppParts {
  const log = options.logger;
  const now = options.now ?? Date.now;
  const bodies = bodyLimits(options);
  const safely = hookCaller(log);
  const storeHealth = new StoreHealth({ now });
  const health = loggedHealth(storeHealth, log);
  const onRejected = (kind: RejectKind) =>
    safely("onRejected", () => options.onRejected?.(kind));
  const ingestion = new Ingestion({
    store: options.store,
    limits: options.limits ?? EVENT_LIMITS,
    bodies,
    acceptedTokens: options.acceptedTokens?.size
      ? options.acceptedTokens
      : null,
    retentionMs: options.retentionMs ?? 0,
    now,
    health,
    refusals: new RefusalLog(log, now),
    onAccepted: (events, result, at) =>
      safely("onAccepted", () => options.onAccepted?.(events, result, at)),
    onRejected,
  });
  const reads = options.reads ?? new ReadSide({
    idleMs: bodies.timeoutMs,
    onPiece: options.onStreamed,
    onAbandoned: options.onAbandoned,
  });
  return {
    ingestion,
    reads,
    streamed: (chunks, headers) =>
      reads.streamed(chunks, { status: 200, headers }),
    storeHealth,
    probed: health.succeeded,
    notRecorded: (route) => {
      onRejected("not_recorded");
      return notRecorded(route);
    },
    internalError: (err) => {
      if (options.onError) options.onError(err);
      else log.error("request failed: {error}", { error: errorMessage(err) });
      return textAnswer(500, "internal error\n");
    },
  };
}

/** The limits bodies are read within, their budget shared unless given. */
export function bodyLimits(
  options: Pick<
    ReceiverAppOptions,
    "maxBodyBytes" | "bodies" | "bodyTimeoutMs"
  >,
): BodyLimits {
  const maxBytes = options.maxBodyBytes ?? SETTINGS.maxBodyBytes.default;
  return {
    budget: options.bodies ?? new BodyBudget(IN_FLIGHT_BODIES * maxBytes),
    maxBytes,
    timeoutMs: options.bodyTimeoutMs ?? SETTINGS.bodyTimeoutMs.default,
  };
}

/** Calls a hook of the caller's: one that throws is logged, never fails the request. */
function hookCaller(log: Logger): (name: string, call: () => void) => void {
  return (name, call) => {
    try {
      call();
    } catch (err) {
      log.warn("{hook} hook failed: {error}", {
        hook: name,
        error: errorMessage(err),
      });
    }
  };
}

/** /engage and /groups: user and group profiles are not what this receiver keeps. */
function notRecorded(route: string): Response {
  return jsonAnswer(400, {
    status: 0,
    error:
      `${route}: user and group profiles are not recorded by this receiver; it records events (/track, /import) only`,
  });
}

/**
 * The read side's routes, GET (and HEAD) only: /healthz for everyone, the
 * others for readers; every answer with Hono's secure headers.
 */
function readRoutes(
  app: Hono<ReadEnv>,
  parts: AppParts,
  options: ReceiverAppOptions,
): void {
  const secure = secureHeaders(SECURE_HEADERS);
  const token = options.readToken;
  const { metrics, overview, clusterPage } = options;
  const routes: Array<[string, Handler<ReadEnv>]> = [[
    "/events",
    (c) =>
      listEvents(
        options.recordLevel,
        options.store,
        queryOf(c.req.url),
        parts.streamed,
      ),
  ]];
  if (metrics) routes.push(["/metrics", (c) => metrics(c.req.raw, "")]);
  if (overview) {
    routes.push(["/", (c) => overview(c.req.raw, queryOf(c.req.url))]);
  }
  // The id as sent (percent-encoded), from the raw path: Hono's parameter
  // decoding would make two different ids one.
  if (clusterPage) {
    routes.push([
      `${CLUSTERS}*`,
      (c) => clusterPage(c.req.raw, pathOf(c.req.url).slice(CLUSTERS.length)),
    ]);
  }
  app.use("/healthz", secure, readGate(token, false));
  app.get("/healthz", (c) => healthz(c.var.reader, parts, options));
  for (const [path, handler] of routes) {
    app.use(path, secure, readGate(token, true));
    app.get(path, handler);
  }
}

/** What the read side's context holds. */
interface ReadEnv {
  /** Set by readGate. */
  Variables: {
    /** The request presents the read token, or none is set. */
    reader: boolean;
  };
}

/**
 * The read side's gate, one middleware: 405 for any method but GET and HEAD;
 * `reader` set on the context (whether the request presents the token, true
 * for every request when there is none); and on a `guarded` route, 401 for a
 * request that is not a reader's.
 */
function readGate(
  token: string | undefined,
  guarded: boolean,
): MiddlewareHandler<ReadEnv> {
  return (c, next) => {
    const method = c.req.method;
    if (method !== "GET" && method !== "HEAD") {
      return Promise.resolve(notAllowed());
    }
    const reader = token === undefined || presentsToken(c.req.raw, token);
    if (guarded && !reader) return Promise.resolve(unauthorized());
    c.set("reader", reader);
    return next();
  };
}

/** /healthz: the store's health (a probe write first when one is due), and more for a reader. */
function healthz(
  reader: boolean,
  parts: AppParts,
  options: ReceiverAppOptions,
): Response {
  const { storeHealth } = parts;
  if (options.probeStore && storeHealth.probeDue()) {
    if (options.probeStore() === null) parts.probed();
  }
  const store = storeHealth.status();
  return jsonAnswer(store.ok ? 200 : 503, {
    ...(store.ok ? { status: "ok" } : {
      status: "failing",
      reason: store.reason,
      since: new Date(store.sinceMs).toISOString(),
      failedWrites: store.failures,
    }),
    ...(reader
      ? {
        recordLevel: options.recordLevel,
        totalEvents: options.store.total(),
        ...options.health?.(),
      }
      : {}),
  });
}

/**
 * Where the path of a request URL starts: its first "/" after "scheme://", as
 * Hono finds it; -1 for none.
 */
function pathStart(url: string): number {
  return url.indexOf("/", url.indexOf(":") + 4);
}

/** The path of a request URL as sent, percent-encoding kept. */
function pathOf(url: string): string {
  const start = pathStart(url);
  if (start < 0) return "/";
  const end = url.search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}
