// The receiver's HTTP routes on Hono. Everything it needs comes in as
// options, so tests call `app.fetch` directly and other stores or routes plug
// in without touching the request handling.

import { type Context, Hono } from "hono";
import type { RecordLevel } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import { type BodyLimits, MAX_BODY_BYTES, readLimitedBody } from "./body.ts";
import {
  clip,
  decodeTrackRequest,
  MAX_BATCH,
  type Rejection,
  type RejectKind,
} from "./decode.ts";
import type { AddResult, EventStore, ReceivedEvent } from "./store.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
import { PAGE_CSP } from "./page.ts";

export interface ReceiverAppOptions {
  store: EventStore;
  /** Decides the shape of /events (SPEC §7). */
  recordLevel: RecordLevel;
  logger: Logger;
  /** Largest body accepted on the wire; 1 MiB unless set. */
  maxBodyBytes?: number;
  /** Largest body accepted after decompression; `maxBodyBytes` unless set. */
  maxDecodedBytes?: number;
  /** Most events in one batch; 2000 unless set. */
  maxBatch?: number;
  /** Called after events were recorded, before the client is answered. */
  onAccepted?: (events: readonly ReceivedEvent[], result: AddResult) => void;
  /** Called for every refused /track request. */
  onRejected?: (reason: RejectKind) => void;
  /** Extra fields for /healthz (store statistics and the like). */
  health?: () => Record<string, unknown>;
  /** The body of GET /metrics (Prometheus text format); no route when absent. */
  metrics?: () => string;
  /** The HTML of GET / (the overview page); no route when absent. */
  overview?: () => string;
}

const TEXT = "text/plain; charset=utf-8";
/** The reference's verbose success body, byte for byte. */
export const VERBOSE_OK = '{"status":1,"error":""}';

export function createReceiverApp(options: ReceiverAppOptions): Hono {
  const app = new Hono();
  const log = options.logger;

  app.all("/track", (c) => track(c, options));
  app.all("/events", (c) => listEvents(c, options));
  app.get("/healthz", (c) =>
    c.json({
      status: "ok",
      recordLevel: options.recordLevel,
      totalEvents: options.store.total(),
      ...options.health?.(),
    }));

  const { metrics, overview } = options;
  if (metrics) {
    app.get("/metrics", () =>
      new Response(metrics(), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      }));
  }
  if (overview) {
    app.get("/", () =>
      new Response(overview(), {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": PAGE_CSP,
          "x-content-type-options": "nosniff",
          "cache-control": "no-store",
        },
      }));
  }

  app.onError((err, c) => {
    log.error("unexpected error serving {path}: {error}", {
      path: c.req.path,
      error: err instanceof Error ? err.message : String(err),
    });
    return c.text("internal error\n", 500);
  });
  return app;
}

async function track(
  c: Context,
  options: ReceiverAppOptions,
): Promise<Response> {
  const url = new URL(c.req.url);
  // As the reference: verbose when the parameter starts with "1".
  const verbose = (url.searchParams.get("verbose") ?? "").startsWith("1");
  const refuse = (rejection: Rejection) => {
    options.logger.info("refused {method} /track: {status} {message}", {
      method: c.req.method,
      status: rejection.status,
      message: clip(rejection.message, 200),
    });
    callHook(options, "onRejected", () => options.onRejected?.(rejection.kind));
    return reply(rejection.status, verbose, rejection.message);
  };

  const data = url.searchParams.get("data");
  let body: Uint8Array = new Uint8Array(0);
  if (data === null) {
    options.logger.debug("{method} /track: reading the body", {
      method: c.req.method,
    });
    const maxBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
    const limits: BodyLimits = {
      maxBytes,
      maxDecodedBytes: options.maxDecodedBytes ?? maxBytes,
    };
    const read = await readLimitedBody(c.req.raw, limits);
    if (!read.ok) return refuse(read.rejection);
    body = read.bytes;
  } else {
    // A body next to `data` is ignored, as by the reference; let it go unread.
    await c.req.raw.body?.cancel().catch(() => {});
  }

  const decoded = decodeTrackRequest({
    data,
    body,
    contentType: c.req.header("content-type") ?? null,
    maxBatch: options.maxBatch ?? MAX_BATCH,
  });
  if (!decoded.ok) return refuse(decoded.rejection);

  let result: AddResult;
  try {
    result = await options.store.add(decoded.events);
  } catch (err) {
    options.logger.error("could not record {count} event(s): {error}", {
      count: decoded.events.length,
      error: err instanceof Error ? err.message : String(err),
    });
    return refuse({
      status: 503,
      kind: "store_failed",
      message:
        "event not recorded: the receiver's store is failing; send it again later",
    });
  }
  options.logger.debug(
    "recorded {added} event(s), {duplicates} re-delivered; total {total}",
    { ...result, total: options.store.total() },
  );
  callHook(
    options,
    "onAccepted",
    () => options.onAccepted?.(decoded.events, result),
  );
  return verbose ? reply(200, true, "") : new Response(null, { status: 200 });
}

/** The reference's answers: a status object when verbose, else plain text. */
function reply(status: number, verbose: boolean, error: string): Response {
  const body = verbose
    ? (error === "" ? VERBOSE_OK : JSON.stringify({ status: 0, error }))
    : `${error}\n`;
  const headers: Record<string, string> = {
    "content-type": TEXT,
    "x-content-type-options": "nosniff",
  };
  // A failing store is usually passing (a busy queue, a disk being freed).
  if (status === 503) headers["retry-after"] = "5";
  return new Response(body, { status, headers });
}

function callHook(
  options: ReceiverAppOptions,
  name: string,
  call: () => void,
): void {
  try {
    call();
  } catch (err) {
    options.logger.warn("{hook} hook failed: {error}", {
      hook: name,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

function listEvents(c: Context, options: ReceiverAppOptions): Response {
  switch (options.recordLevel) {
    case "none":
      return c.json([]);
    case "summary":
      return c.json([{ totalEvents: options.store.total() }]);
    case "all": {
      const limit = c.req.query("limit");
      const before = c.req.query("before");
      const parsedLimit = positiveInteger(limit);
      const parsedBefore = positiveInteger(before);
      if (parsedLimit === null || parsedBefore === null) {
        const name = parsedLimit === null ? "limit" : "before";
        return c.text(`${name} must be a positive whole number\n`, 400);
      }
      const events = options.store.list({
        limit: parsedLimit,
        before: parsedBefore,
        distinctId: c.req.query("distinct_id"),
      });
      return c.json(
        events.map((e) => ({ event: e.event, properties: e.properties })),
      );
    }
  }
}

/** undefined when absent, null when present but not a positive integer. */
function positiveInteger(raw: string | undefined): number | undefined | null {
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) return null;
  const n = Number(raw.trim());
  return n > 0 ? n : null;
}
