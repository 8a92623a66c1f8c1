// Delivery of one encoded event with the reference collector's transport:
// `GET <url>/track?data=<base64>&verbose=1`, success = HTTP 200 whose JSON body
// has `"status":1`. Each URL is retried on its own (network errors, attempt
// timeouts, 429, 5xx; honouring Retry-After), never throws, and ends in a
// result value that says the truth: delivered, failed (last reason), or
// stopped before delivery. The first failure of a URL is said at once; the
// retries after it only at debug level, until the outcome.

import { logger } from "../log/setup.ts";
import { COLLECTOR_VERSION } from "../version.ts";
import { SETTINGS } from "../config/settings.ts";
import { type Sleep, sleep } from "../runtime/delay.ts";
import { KiB, MINUTE_MS, SECOND_MS } from "../runtime/units.ts";
import { type BoundedBody, readBounded } from "../net/body.ts";
import { describeNetworkError } from "../net/network_error.ts";
import { redactUrlsIn, requestedUrl, trackUrl } from "./url.ts";

/** What delivery logs through; a LogTape Logger fits. */
export interface DeliveryLog {
  /** Each retry after the first. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** A delivery. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** A URL's first failure, and an outcome other than delivered. */
  warn(message: string, properties?: Record<string, unknown>): void;
}

/** How delivery runs; each option has a default, a test sets what it needs. */
export interface DeliveryOptions {
  /** Sends each attempt; the global fetch unless given. */
  fetch?: typeof fetch;
  /** Waits between attempts, cut short by the signal. */
  sleep?: Sleep;
  /** Uniform in [0, 1); drives the backoff jitter. */
  random?: () => number;
  /** Milliseconds since the epoch; for Retry-After given as an HTTP date. */
  now?: () => number;
  /** Shortest wait between attempts. */
  minBackoffMs?: number;
  /** Longest wait the exponential backoff grows to. */
  maxBackoffMs?: number;
  /** Attempts per URL, the first included. */
  maxAttempts?: number;
  /** Bounds one attempt: connecting, the response and its body; PUBLISH_TIMEOUT's default unless set. */
  attemptTimeoutMs?: number;
  /** A Retry-After longer than this ends delivery instead of retrying early. */
  maxRetryAfterMs?: number;
  /** Response bodies are read up to this many bytes. */
  maxBodyBytes?: number;
  /** Stops sleeps and attempts promptly; the result is then "aborted". */
  signal?: AbortSignal;
  /** Where the outcome and the retries are said; the `publish` logger unless given. */
  logger?: DeliveryLog;
}

/** What delivery does unless told otherwise; an attempt's timeout is PUBLISH_TIMEOUT's default. */
const DELIVERY_DEFAULTS = {
  minBackoffMs: SECOND_MS,
  maxBackoffMs: 30 * SECOND_MS,
  maxAttempts: 20,
  attemptTimeoutMs: SETTINGS.publishTimeoutMs.default,
  maxRetryAfterMs: 5 * MINUTE_MS,
  maxBodyBytes: 64 * KiB,
} as const;

/** How delivery to one URL ended. */
export interface DeliveryResult {
  /** The URL requested, as it may be logged (see requestedUrl). */
  url: string;
  /** The receiver answered 200 with `"status":1`. */
  delivered: boolean;
  /** Attempts started (0 when the URL was unusable or the signal was already aborted). */
  attempts: number;
  /** Why it was not delivered: the last attempt's failure, or "stopped before delivery". */
  reason?: string;
  /** True when the signal stopped delivery before an outcome. */
  aborted: boolean;
  /** When stopped: why the attempts before the stop failed, if any did. */
  lastCause?: string;
}

const STOPPED = "stopped before delivery";

/** Reasons are cut to this length, so an outcome stays one readable line. */
const MAX_REASON = 500;

/**
 * Delivers `data` (the base64 event) to every URL in parallel, each retried on
 * its own and its outcome logged; results in URL order. Never rejects.
 *
 * @example
 * ```ts ignore
 * import { deliverAll } from "./deliver.ts";
 * import { buildEvent, encodeEventData, newInsertId } from "./event.ts";
 *
 * const event = buildEvent({
 *   snapshot: { model_count: 3 },
 *   clusterId: crypto.randomUUID(),
 *   token: "my-project-token",
 *   timeMs: Date.now(),
 *   insertId: newInsertId(),
 * });
 * const results = await deliverAll(
 *   ["http://receiver.example:8001"],
 *   encodeEventData(event),
 *   { signal: AbortSignal.timeout(60_000) },
 * );
 * console.log(results.every((r) => r.delivered));
 * ```
 */
export function deliverAll(
  urls: readonly string[],
  data: string,
  options: DeliveryOptions = {},
): Promise<DeliveryResult[]> {
  return Promise.all(urls.map((url) => deliver(url, data, options)));
}

/** Delivers `data` to one URL, retrying as configured, and logs the outcome. */
export async function deliver(
  url: string,
  data: string,
  options: DeliveryOptions = {},
): Promise<DeliveryResult> {
  const o = resolveOptions(options);
  const result = await deliverQuietly(url, requestedUrl(url), data, o);
  logOutcome(result, o.log);
  return result;
}

/** One line per URL: delivered (info), failed or stopped (warn). */
function logOutcome(result: DeliveryResult, log: DeliveryLog): void {
  const props = {
    url: result.url,
    attempts: result.attempts,
    reason: result.reason,
    lastCause: result.lastCause,
  };
  if (result.delivered) {
    log.info("delivered to {url} after {attempts} attempt(s)", props);
  } else if (result.aborted && result.attempts === 0) {
    log.warn("not delivered to {url}: {reason} (no attempt made)", props);
  } else if (result.aborted) {
    log.warn(
      result.lastCause === undefined
        ? "not delivered to {url}: {reason}, during attempt {attempts}"
        : "not delivered to {url}: {reason} after {attempts} attempt(s); last cause: {lastCause}",
      props,
    );
  } else {
    log.warn(
      "failed to deliver to {url}: {reason} after {attempts} attempt(s)",
      props,
    );
  }
}

/**
 * The outcome for URLs the event never went to because the process was
 * stopped first (e.g. during the collection), logged as any other.
 */
export function stoppedBeforeDelivery(
  urls: readonly string[],
  log: DeliveryLog = logger("publish"),
): DeliveryResult[] {
  return urls.map((url) => {
    const result: DeliveryResult = {
      url: requestedUrl(url),
      delivered: false,
      attempts: 0,
      reason: STOPPED,
      aborted: true,
    };
    logOutcome(result, log);
    return result;
  });
}

type Resolved = Required<Omit<DeliveryOptions, "signal" | "logger">> & {
  signal?: AbortSignal;
  log: DeliveryLog;
};

function resolveOptions(options: DeliveryOptions): Resolved {
  const d = DELIVERY_DEFAULTS;
  const minBackoffMs = nonNegative(options.minBackoffMs, d.minBackoffMs);
  return {
    fetch: options.fetch ?? globalThis.fetch,
    sleep: options.sleep ?? sleep,
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
    minBackoffMs,
    maxBackoffMs: Math.max(
      minBackoffMs,
      nonNegative(options.maxBackoffMs, d.maxBackoffMs),
    ),
    maxAttempts: Math.max(
      1,
      Math.floor(nonNegative(options.maxAttempts, d.maxAttempts)),
    ),
    attemptTimeoutMs: nonNegative(options.attemptTimeoutMs, d.attemptTimeoutMs),
    maxRetryAfterMs: nonNegative(options.maxRetryAfterMs, d.maxRetryAfterMs),
    maxBodyBytes: nonNegative(options.maxBodyBytes, d.maxBodyBytes),
    signal: options.signal,
    log: options.logger ?? logger("publish"),
  };
}

const nonNegative = (value: number | undefined, fallback: number) =>
  value !== undefined && Number.isFinite(value) && value >= 0
    ? value
    : fallback;

async function deliverQuietly(
  url: string,
  shown: string,
  data: string,
  o: Resolved,
): Promise<DeliveryResult> {
  const target = usableUrl(url, data);
  if (target instanceof Error) {
    return {
      url: shown,
      delivered: false,
      attempts: 0,
      reason: target.message,
      aborted: false,
    };
  }
  let lastCause: string | undefined;
  const stopped = (attempts: number): DeliveryResult => ({
    url: shown,
    delivered: false,
    attempts,
    reason: STOPPED,
    aborted: true,
    ...(lastCause === undefined ? {} : { lastCause }),
  });

  for (let attempt = 1;; attempt++) {
    if (o.signal?.aborted) return stopped(attempt - 1);
    const outcome = await tryOnce(target, shown, o);
    if (outcome.kind === "delivered") {
      return { url: shown, delivered: true, attempts: attempt, aborted: false };
    }
    if (outcome.kind === "aborted") return stopped(attempt);
    lastCause = clip(outcome.reason);
    const failed = (reason = outcome.reason): DeliveryResult => ({
      url: shown,
      delivered: false,
      attempts: attempt,
      reason: clip(reason),
      aborted: false,
    });
    if (!outcome.retry || attempt >= o.maxAttempts) return failed();

    let waitMs = backoffMs(attempt, o);
    if (outcome.retryAfterMs !== undefined) {
      if (outcome.retryAfterMs > o.maxRetryAfterMs) {
        return failed(
          `${outcome.reason}; Retry-After asks for ${
            seconds(outcome.retryAfterMs)
          }, longer than the ${seconds(o.maxRetryAfterMs)} this agent waits`,
        );
      }
      waitMs = Math.max(waitMs, outcome.retryAfterMs);
    }
    const props = {
      attempt,
      url: shown,
      reason: lastCause,
      waitMs,
      maxAttempts: o.maxAttempts,
    };
    if (attempt === 1) {
      o.log.warn(
        "attempt 1 to {url} failed: {reason}; retrying, up to {maxAttempts} attempts in all (LOG_LEVEL=debug shows each); the outcome follows",
        props,
      );
    } else {
      o.log.debug(
        "attempt {attempt} to {url} failed: {reason}; retrying in {waitMs} ms",
        props,
      );
    }
    await o.sleep(waitMs, o.signal);
    if (o.signal?.aborted) return stopped(attempt);
  }
}

function clip(reason: string): string {
  return reason.length > MAX_REASON
    ? `${reason.slice(0, MAX_REASON)}…`
    : reason;
}

function usableUrl(url: string, data: string): URL | Error {
  let target: URL;
  try {
    target = trackUrl(url, data);
  } catch {
    return new Error("not a valid URL");
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return new Error("not an http:// or https:// URL");
  }
  return target;
}

/**
 * Full jitter between the floor and an exponentially growing ceiling: the
 * n-th retry waits uniformly in [min, min(max, min·2ⁿ)), so a fleet that
 * failed together does not retry together, and never sooner than `min`.
 */
export function backoffMs(
  retry: number,
  o: Pick<
    Required<DeliveryOptions>,
    "minBackoffMs" | "maxBackoffMs" | "random"
  >,
): number {
  const ceiling = Math.min(o.maxBackoffMs, o.minBackoffMs * 2 ** retry);
  const r = Math.min(Math.max(o.random(), 0), 1);
  return Math.round(o.minBackoffMs + r * (ceiling - o.minBackoffMs));
}

type Outcome =
  | { kind: "delivered" }
  | { kind: "aborted" }
  | {
    kind: "failed";
    reason: string;
    retry: boolean;
    retryAfterMs?: number;
  };

async function tryOnce(
  target: URL,
  shown: string,
  o: Resolved,
): Promise<Outcome> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  o.signal?.addEventListener("abort", stop, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, o.attemptTimeoutMs);
  try {
    const response = await o.fetch(target, {
      signal: controller.signal,
      headers: {
        accept: "application/json",
        "user-agent": `hodometer/${COLLECTOR_VERSION}`,
      },
    });
    const body = await readBounded(response.body, o.maxBodyBytes);
    return judge(response, body, shown, o);
  } catch (err) {
    if (o.signal?.aborted) return { kind: "aborted" };
    if (timedOut) {
      return {
        kind: "failed",
        reason: `no complete response within ${seconds(o.attemptTimeoutMs)}`,
        retry: true,
      };
    }
    return { kind: "failed", reason: describeError(err), retry: true };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", stop);
  }
}

function judge(
  response: Response,
  body: BoundedBody,
  shown: string,
  o: Resolved,
): Outcome {
  const text = new TextDecoder().decode(body.bytes);
  const json = parseJson(text);
  const status = response.status;
  if (status === 200) {
    if (body.truncated) {
      return {
        kind: "failed",
        reason: `HTTP 200 with a body over ${o.maxBodyBytes} bytes`,
        retry: false,
      };
    }
    if (isObject(json) && json.status === 1) return { kind: "delivered" };
    const detail = isObject(json) && "status" in json
      ? `"status":${JSON.stringify(json.status)}${explain(json, text)}`
      : `a body that is not JSON with "status":1${explain(json, text)}`;
    return { kind: "failed", reason: `HTTP 200 but ${detail}`, retry: false };
  }
  const label = `HTTP ${status}${
    response.statusText ? ` ${response.statusText}` : ""
  }${explain(json, text)}`;
  if (status === 404) {
    return {
      kind: "failed",
      reason:
        `${label}; is ${shown} a hodometer or Mixpanel receiver? Give its base URL (/track is added unless the URL ends in /track)`,
      retry: false,
    };
  }
  if (status === 429 || status >= 500) {
    return {
      kind: "failed",
      reason: label,
      retry: true,
      retryAfterMs: parseRetryAfter(
        response.headers.get("retry-after"),
        o.now(),
      ),
    };
  }
  return { kind: "failed", reason: label, retry: false };
}

/** The receiver's own words: its JSON `error`, else the start of its body. */
function explain(json: unknown, text: string): string {
  const said = isObject(json) && typeof json.error === "string"
    ? json.error
    : typeof json === "object" && json !== null
    ? ""
    : text;
  const clean = redactUrlsIn(
    // deno-lint-ignore no-control-regex
    said.replace(/[\u0000-\u001f\u007f]+/g, " ").trim(),
  );
  if (clean === "") return "";
  return `: ${clean.length > 200 ? `${clean.slice(0, 200)}…` : clean}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Milliseconds a Retry-After header asks for: delay-seconds or an HTTP date
 * (RFC 9110 §10.2.3). Undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null,
  nowMs: number,
): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * SECOND_MS);
  // Only something that reads like a date ("Wed, 21 Oct 2015 07:28:00 GMT"):
  // Date.parse alone accepts odd strings such as "2".
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** A fetch error as a reason: its cause in a few words, URLs redacted. */
function describeError(err: unknown): string {
  return redactUrlsIn(describeNetworkError(err));
}

function seconds(ms: number): string {
  return ms % SECOND_MS === 0 ? `${ms / SECOND_MS} s` : `${ms} ms`;
}
