// The gRPC connection to the Seldon Core 2 scheduler, and calls with a hard
// deadline and bounded retries, so that one collection can never hang.

import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import {
  type ChannelCredentials,
  credentials,
  type Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { SchedulerClient as GrpcSchedulerClient } from "../proto/generated/scheduler.ts";
import type {
  PipelineStatus,
  ServerStatus,
} from "../metrics/scheduler_rules.ts";
import { hostForAddress } from "../net/host.ts";
import { errorMessage } from "../runtime/error_message.ts";
import { type Sleep, sleep as defaultSleep } from "../runtime/delay.ts";

/**
 * A failed gRPC call as grpc-js reports it (its ServiceError): an Error with
 * the call's status `code`, the scheduler's `details` and the trailers.
 */
export type CallError = ServiceError;

/**
 * Request metadata (headers) of a gRPC call, as grpc-js takes it; the
 * scheduler's status call is made with an empty one.
 */
export type CallMetadata = Metadata;

/**
 * A server-streaming call as drain() reads it: its messages, its end or its
 * error, and cancelling it. grpc-js's ClientReadableStream is one.
 */
export interface MessageStream<T> {
  /** Each message, decoded, as it arrives. */
  on(event: "data", listener: (message: T) => void): unknown;
  /** The call failed, or was cancelled: no more messages come. */
  on(event: "error", listener: (error: CallError) => void): unknown;
  /** The scheduler ended the stream: every message has come. */
  on(event: "end", listener: () => void): unknown;
  /** Cancels the call; it then ends with a CANCELLED error. */
  cancel(): void;
}

/** The first field of every request: who is asking (SUBSCRIBER_NAME). */
export interface SubscriberRequest {
  /** The subscriber's name, SUBSCRIBER_NAME. */
  subscriberName: string;
}

/** A request for the models or the pipelines, with or without every version. */
export interface VersionsRequest extends SubscriberRequest {
  /** False for the latest version of each only, as Seldon's Go agent asks. */
  allVersions: boolean;
}

/** The options of one call that hodometer sets. */
export interface CallDeadline {
  /** The call fails with DEADLINE_EXCEEDED when not done by then. */
  deadline: Date;
}

/**
 * The calls hodometer makes to the Seldon Core 2 scheduler
 * (`seldon.mlops.scheduler.Scheduler`), with the fields of each answer it
 * reads: the client generated from proto/ has these and more.
 * openScheduler() returns one; a test may give its own.
 */
export interface SchedulerClient {
  /** The scheduler's version (unary). */
  schedulerStatus(
    request: SubscriberRequest,
    metadata: CallMetadata,
    options: CallDeadline,
    callback: (
      error: CallError | null,
      response: { applicationVersion: string },
    ) => void,
  ): { cancel(): void };
  /** Every Server and its replicas, streamed. */
  serverStatus(
    request: SubscriberRequest,
    options: CallDeadline,
  ): MessageStream<ServerStatus>;
  /** Every model (deleted ones flagged), streamed. */
  modelStatus(
    request: VersionsRequest,
    options: CallDeadline,
  ): MessageStream<{ deleted: boolean }>;
  /** Every pipeline with its versions' states, streamed. */
  pipelineStatus(
    request: VersionsRequest,
    options: CallDeadline,
  ): MessageStream<PipelineStatus>;
  /** Every experiment, active or not, streamed. */
  experimentStatus(
    request: SubscriberRequest,
    options: CallDeadline,
  ): MessageStream<{ active: boolean }>;
  /** Closes the channel; calls made after it fail. */
  close(): void;
}

/** PEM material for TLS to the scheduler; `cert` + `key` turn on mTLS. */
export interface SchedulerTls {
  /**
   * The CA the scheduler's certificate must chain to; absent, the system's
   * roots (readSchedulerTls always sets one).
   */
  ca?: string | Uint8Array;
  /** The client certificate shown to the scheduler (mTLS). */
  cert?: string | Uint8Array;
  /** The client certificate's private key. */
  key?: string | Uint8Array;
}

/** Where the scheduler is, and how it is spoken to. */
export interface SchedulerAddress {
  /** A DNS name or an IP address (IPv6 with or without brackets). */
  host: string;
  /** The scheduler's gRPC port: SCHEDULER_PORT, or SCHEDULER_TLS_PORT with TLS. */
  port: number;
  /** Absent: plaintext. */
  tls?: SchedulerTls;
}

/** Every call carries this subscriber name, as the reference collector's do. */
export const SUBSCRIBER_NAME = "hodometer";

/**
 * A client of the scheduler at `address`. With TLS, the scheduler's
 * certificate must name the host: a DNS name for a name, an IP address SAN
 * for an address (as Go's client checks it).
 */
export function openScheduler(address: SchedulerAddress): SchedulerClient {
  const { tls } = address;
  const creds = tls
    ? withoutAddressAsServerName(credentials.createSsl(
      tls.ca ? Buffer.from(tls.ca) : null,
      tls.key ? Buffer.from(tls.key) : null,
      tls.cert ? Buffer.from(tls.cert) : null,
    ))
    : credentials.createInsecure();
  const target = `${hostForAddress(address.host)}:${address.port}`;
  return new GrpcSchedulerClient(target, creds, {
    // The scheduler's own retry policy would hide failures from our bounded
    // loop; retries are done below, with a fresh tally each time.
    "grpc.enable_retries": 0,
  });
}

/**
 * TLS credentials that send no server name (SNI) to an IP address. grpc-js
 * always sets the target's host as the server name, and Deno's node:tls
 * refuses an address there (RFC 6066 allows names only), so a scheduler
 * addressed by IP could not be reached. Go's client sends no SNI to an
 * address and checks the certificate's IP SANs; without a server name,
 * node:tls does the same against the connection's host. grpc-js has no
 * option for this: its connector's options are amended as they are made
 * (internal to the pinned grpc-js; tests/scheduler_tls_test.ts proves it over
 * real TLS, so an upgrade that moves them fails there).
 */
function withoutAddressAsServerName(
  creds: ChannelCredentials,
): ChannelCredentials {
  const create = creds._createSecureConnector.bind(creds);
  creds._createSecureConnector = (target, options, callCredentials) => {
    const connector = create(target, options, callCredentials);
    const tlsOptions = (connector as { connectionOptions?: TlsNameOptions })
      .connectionOptions;
    if (tlsOptions?.servername && isIP(tlsOptions.servername) !== 0) {
      delete tlsOptions.servername;
    }
    return connector;
  };
  return creds;
}

interface TlsNameOptions {
  servername?: string;
}

/** How long withRetries keeps trying, and how it waits between attempts. */
export interface RetryPolicy {
  /** The whole call, retries included, ends by then (ms since the epoch). */
  deadline: number;
  /** First backoff (ms); doubles each retry. */
  baseDelayMs?: number;
  /** Longest backoff (ms); 5 000 unless set. */
  maxDelayMs?: number;
  /** Most attempts, the first included; 6 unless set. */
  maxAttempts?: number;
  /** Waits out a backoff; the real one unless a test gives its own. */
  sleep?: Sleep;
  /** Milliseconds since the epoch, as `deadline`; Date.now unless a test gives its own. */
  now?: () => number;
}

/**
 * How a call ended after its retries: `attempts` made, and on failure the
 * last attempt's status name (e.g. `UNAVAILABLE`) and details.
 */
export type CallOutcome =
  | { ok: true; attempts: number }
  | { ok: false; attempts: number; status: string; details: string };

const TRANSIENT: ReadonlySet<number> = new Set([status.UNAVAILABLE]);

/** A gRPC status code's name, e.g. `UNAVAILABLE` for 14. */
function statusName(code: number): string {
  return status[code] ?? `status ${code}`;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the deadline or the
 * attempt bound is reached. Only UNAVAILABLE (scheduler not reachable yet,
 * connection dropped) is retried, with exponential backoff from 100 ms. Each
 * attempt must start from nothing (a fresh tally), so a retried stream never
 * counts twice.
 */
export async function withRetries(
  attempt: (deadline: Date) => Promise<CallError | null>,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<CallOutcome> {
  const now = policy.now ?? Date.now;
  const sleep = policy.sleep ?? defaultSleep;
  const maxAttempts = policy.maxAttempts ?? 6;
  let delay = policy.baseDelayMs ?? 100;
  const maxDelay = policy.maxDelayMs ?? 5_000;
  for (let n = 1;; n++) {
    const error = await attempt(new Date(policy.deadline));
    if (error === null) return { ok: true, attempts: n };
    const failed = {
      ok: false as const,
      attempts: n,
      status: statusName(error.code),
      details: error.details || error.message,
    };
    const wait = Math.min(delay, maxDelay);
    if (
      !TRANSIENT.has(error.code) || n >= maxAttempts || signal.aborted ||
      now() + wait >= policy.deadline
    ) {
      return failed;
    }
    await sleep(wait, signal);
    if (signal.aborted) return failed;
    delay *= 2;
  }
}

/**
 * One server-streaming call drained to its end: every message goes to
 * `onMessage` as it arrives (nothing is buffered here). Settles with null on
 * a clean end, else the error; an abort cancels the call.
 */
export function drain<T>(
  call: MessageStream<T>,
  onMessage: (message: T) => void,
  signal: AbortSignal,
): Promise<CallError | null> {
  return new Promise((resolve) => {
    const cancel = () => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    const settle = (error: CallError | null) => {
      signal.removeEventListener("abort", cancel);
      resolve(error);
    };
    call.on("data", (message: T) => {
      try {
        onMessage(message);
      } catch (e) {
        settle(internalError(e));
        call.cancel();
      }
    });
    call.on("error", (e: CallError) => settle(e));
    call.on("end", () => settle(null));
  });
}

/** A unary call as a promise of the response or the error. */
export function unary<T>(
  start: (callback: (error: CallError | null, response: T) => void) => {
    cancel(): void;
  },
  signal: AbortSignal,
): Promise<{ error: CallError } | { response: T }> {
  return new Promise((resolve) => {
    const call = start((error, response) => {
      signal.removeEventListener("abort", cancel);
      resolve(error ? { error } : { response });
    });
    const cancel = () => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
  });
}

function internalError(e: unknown): CallError {
  const message = errorMessage(e);
  return Object.assign(new Error(message), {
    code: status.INTERNAL,
    details: `cannot handle a message: ${message}`,
    metadata: undefined as never,
  });
}
