// /track and /import, Mixpanel's ingestion endpoints: a request into events
// recorded, answered the way Mixpanel's clients expect. The body is read
// within its size limit, deadline and the shared byte budget, decompressed,
// decoded and checked; the valid events go to the store, and the answer says
// what happened. An event in the query is answered at once, without a
// promise, unless the store makes it wait: this is the receiver's hot path.

import type { Logger } from "../log/setup.ts";
import { errorMessage } from "../runtime/error_message.ts";
import {
  accepted,
  type AnswerShape,
  partlyAccepted,
  refusal,
} from "./answers.ts";
import {
  type AcceptedEvent,
  type EventLimits,
  type Rejection,
  type RejectKind,
  stampImported,
} from "./event/mod.ts";
import {
  type BodyLimits,
  type Checked,
  decodeEvents,
  decompress,
  describeProblems,
  invalid,
  mediaType,
  queryParams,
  readBody,
} from "./ingest/mod.ts";
import type { RefusalLog } from "./refusal_log.ts";
import { basicUser } from "./read_token.ts";
import {
  type AddResult,
  type EventStore,
  StoreBusyError,
  type StoreHealth,
} from "./store/mod.ts";

/** The two ingestion routes. */
export type IngestRoute = "/track" | "/import";

/** How a request to /track or /import wants its answers, and its `data` parameter. */
export interface RequestShape extends AnswerShape {
  /** The events in the query (`data=`, base64 or JSON), or null. */
  data: string | null;
}

/** What ingestion needs: where events go, the limits, and whom to tell. */
export interface IngestionOptions {
  /** Where the valid events are recorded. */
  store: EventStore;
  /** What an event is held to. */
  limits: EventLimits;
  /** What a body is held to. */
  bodies: BodyLimits;
  /** Project tokens accepted; null for any. */
  acceptedTokens: ReadonlySet<string> | null;
  /** The store's retention (0: none): imported events count no earlier than its start. */
  retentionMs: number;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** The store's health, told of each write. */
  health: LoggedHealth;
  /** Where refusals are logged. */
  refusals: RefusalLog;
  /** Called after events were recorded, before the client is answered (never throws). */
  onAccepted: (
    events: readonly AcceptedEvent[],
    result: AddResult,
    receivedAtMs: number,
  ) => void;
  /** Called for every refused request (never throws). */
  onRejected: (reason: RejectKind) => void;
}

/** The store's health with its log lines said. */
export interface LoggedHealth {
  /** A write or a probe worked. */
  succeeded(): void;
  /** A write failed with `cause`. */
  failed(cause: string): void;
}

/** `health`, its lines logged to `log` (a failure as an error, a recovery as info). */
export function loggedHealth(health: StoreHealth, log: Logger): LoggedHealth {
  const said = (line: string | null, level: "info" | "error") => {
    if (line !== null) log[level]("{message}", { message: line });
  };
  return {
    succeeded: () => said(health.succeeded(), "info"),
    failed: (cause) => said(health.failed(cause), "error"),
  };
}

const EMPTY = new Uint8Array(0);
const SHAPE_PARAMS = ["data", "verbose", "strict"] as const;

/** The query of a request's URL, without "?"; "" when none. */
export function queryOf(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return "";
  const hash = url.indexOf("#", q);
  return hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
}

/** How a request to /track or /import wants its answers, and its `data` parameter. */
export function shapeOf(req: Request, route: IngestRoute): RequestShape {
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

/** Why a request with invalid events records none of them (not strict). */
export function invalidBatch(checked: readonly Checked[]): Rejection {
  const first = checked.findIndex((c) => !c.ok);
  const bad = checked[first] as Extract<Checked, { ok: false }>;
  const detail = describeProblems(bad.problems);
  const refused = checked.length === 1 ? invalid(detail) : invalid(
    `event ${first} of the batch (counting from 0): ${detail}; no event of this batch was recorded`,
  );
  return (refused as Extract<typeof refused, { ok: false }>).rejection;
}

const NOT_ACCEPTED: Rejection = {
  status: 401,
  kind: "invalid_token",
  message: "invalid project token: this receiver does not accept it",
};

const STORE_FAILED: Rejection = {
  status: 503,
  kind: "store_failed",
  message:
    "event not recorded: the receiver's store is failing; send it again later",
};

/** /track and /import of one receiver. */
export class Ingestion {
  readonly #o: IngestionOptions;

  /** Ingestion into `options.store`. */
  constructor(options: IngestionOptions) {
    this.#o = options;
  }

  /** The answer to a request to `route`. */
  handle(req: Request, route: IngestRoute): Response | Promise<Response> {
    const shape = shapeOf(req, route);
    // A body next to `data` is ignored, as by the reference: Deno drops it.
    if (shape.data !== null) return this.#accept(req, route, shape, EMPTY);
    return this.#withBody(req, route, shape);
  }

  /** Refuses the request: logged, counted and answered in its shape. */
  refuse(
    req: Request,
    route: IngestRoute,
    shape: AnswerShape,
    r: Rejection,
  ): Response {
    this.#o.refusals.refused(req.method, route, r);
    this.#o.onRejected(r.kind);
    return refusal(r, shape);
  }

  async #withBody(
    req: Request,
    route: IngestRoute,
    shape: RequestShape,
  ): Promise<Response> {
    const read = await readBody(req, this.#o.bodies);
    if (!read.ok) return this.refuse(req, route, shape, read.rejection);
    try {
      let body = read.bytes;
      if (body.length > 0) {
        const decoded = await decompress(
          body,
          req.headers.get("content-encoding") ?? undefined,
          this.#o.bodies.maxBytes,
        );
        if (!decoded.ok) {
          return this.refuse(req, route, shape, decoded.rejection);
        }
        body = decoded.bytes;
      }
      return await this.#accept(req, route, shape, body);
    } finally {
      this.#o.bodies.budget.release(read.reserved);
    }
  }

  /** Decodes the events, records the valid ones and answers. */
  #accept(
    req: Request,
    route: IngestRoute,
    shape: RequestShape,
    body: Uint8Array,
  ): Response | Promise<Response> {
    const decoded = decodeEvents({
      data: shape.data,
      body,
      contentType: body.length > 0 ? req.headers.get("content-type") : null,
      fallbackToken: route === "/import" ? basicUser(req) : undefined,
      limits: this.#o.limits,
    });
    if (!decoded.ok) return this.refuse(req, route, shape, decoded.rejection);
    const checked = decoded.events;
    const valid: AcceptedEvent[] = [];
    for (const c of checked) if (c.ok) valid.push(c.event);
    const tokens = this.#o.acceptedTokens;
    if (tokens && valid.some((e) => !tokens.has(e.token))) {
      return this.refuse(req, route, shape, NOT_ACCEPTED);
    }
    if (!shape.strict && valid.length < checked.length) {
      return this.refuse(req, route, shape, invalidBatch(checked));
    }
    const batch = {
      checked,
      valid,
      receivedAt: this.#o.now(),
      viaData: decoded.viaData === true,
    };
    if (valid.length === 0) return this.#answer(batch, shape);
    if (route === "/import") {
      stampImported(valid, batch.receivedAt, this.#o.retentionMs);
    }
    return this.#record(req, route, shape, batch);
  }

  /** Adds the valid events to the store and answers once it has them. */
  #record(
    req: Request,
    route: IngestRoute,
    shape: RequestShape,
    batch: Batch,
  ): Response | Promise<Response> {
    const recorded = (result: AddResult) => {
      this.#o.health.succeeded();
      this.#o.onAccepted(batch.valid, result, batch.receivedAt);
      return this.#answer(batch, shape);
    };
    const failed = (err: unknown) => {
      // Busy is not failing: the refusal is logged (and counted) as any.
      if (!(err instanceof StoreBusyError)) {
        this.#o.health.failed(errorMessage(err));
      }
      return this.refuse(req, route, shape, STORE_FAILED);
    };
    let added: AddResult | Promise<AddResult>;
    try {
      added = this.#o.store.add(batch.valid);
    } catch (err) {
      return failed(err);
    }
    return added instanceof Promise
      ? added.then(recorded, failed)
      : recorded(added);
  }

  /** The success answer, or Mixpanel's strict one. */
  #answer(
    { checked, valid, viaData }: Batch,
    shape: AnswerShape,
  ): Response {
    if (!shape.strict || valid.length === checked.length) {
      return accepted(shape, valid.length, viaData);
    }
    this.#o.onRejected("invalid_event");
    return partlyAccepted(checked, valid.length);
  }
}

/** The events of one request, checked. */
interface Batch {
  checked: readonly Checked[];
  valid: AcceptedEvent[];
  receivedAt: number;
  /** In Mixpanel's shape (decodeEvents' `viaData`). */
  viaData: boolean;
}
