// The gRPC connection to the Seldon Core 2 scheduler, and calls with a hard
// deadline and bounded retries, so that one collection can never hang.

import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import {
  type ChannelCredentials,
  type ClientReadableStream,
  credentials,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { SchedulerClient } from "../proto/generated/scheduler.ts";
import { hostForAddress } from "../net/host.ts";
import { errorMessage } from "../runtime/error_message.ts";
import { type Sleep, sleep as defaultSleep } from "../runtime/delay.ts";

export { SchedulerClient };

/** PEM material for TLS to the scheduler; `cert` + `key` turn on mTLS. */
export interface SchedulerTls {
  ca?: string | Uint8Array;
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
}

export interface SchedulerAddress {
  host: string;
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
  return new SchedulerClient(target, creds, {
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

export interface RetryPolicy {
  /** The whole call, retries included, ends by then (ms since the epoch). */
  deadline: number;
  /** First backoff (ms); doubles each retry. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  sleep?: Sleep;
  now?: () => number;
}

export type CallOutcome =
  | { ok: true; attempts: number }
  | { ok: false; attempts: number; status: string; details: string };

const TRANSIENT: ReadonlySet<number> = new Set([status.UNAVAILABLE]);

export function statusName(code: number): string {
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
  attempt: (deadline: Date) => Promise<ServiceError | null>,
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
  call: ClientReadableStream<T>,
  onMessage: (message: T) => void,
  signal: AbortSignal,
): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    const cancel = () => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    const settle = (error: ServiceError | null) => {
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
    call.on("error", (e: ServiceError) => settle(e));
    call.on("end", () => settle(null));
  });
}

/** A unary call as a promise of the response or the error. */
export function unary<T>(
  start: (callback: (error: ServiceError | null, response: T) => void) => {
    cancel(): void;
  },
  signal: AbortSignal,
): Promise<{ error: ServiceError } | { response: T }> {
  return new Promise((resolve) => {
    const call = start((error, response) => {
      signal.removeEventListener("abort", cancel);
      resolve(error ? { error } : { response });
    });
    const cancel = () => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
  });
}

function internalError(e: unknown): ServiceError {
  const message = errorMessage(e);
  return Object.assign(new Error(message), {
    code: status.INTERNAL,
    details: `cannot handle a message: ${message}`,
    metadata: undefined as never,
  });
}
