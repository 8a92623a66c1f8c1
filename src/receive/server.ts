// Serving the receiver's app on Deno.serve, and stopping it within a grace
// period.
//
// Deno's server.shutdown() stops accepting and waits for the requests in
// flight, but it cuts off request bodies still arriving, which would lose an
// event mid-upload. So shutdown(graceMs) first lets the bodies being read
// arrive (new requests meanwhile get 503 with Connection: close, so clients
// send them again later or elsewhere), then shuts Deno's server down, and
// gives up waiting once the grace period is over: the caller exits then,
// whatever the clients do.
//
// What Deno.serve cannot bound is left to whatever is in front of the
// receiver: how long a client may take to send a request's head, how long a
// kept-alive connection may sit idle, and how many connections are open.

import { hostForAddress } from "../net/host.ts";
import { sleep } from "../runtime/delay.ts";
import type { BodyBudget } from "./body.ts";
import { AbandonedAnswer } from "./stream.ts";

export interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

export interface ReceiverServerOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  app: FetchApp;
  /** The bodies the app is reading: a shutdown lets them arrive first. */
  bodies: BodyBudget;
  /** Errors the app did not turn into an answer (answered 500). */
  onError?: (error: unknown) => void;
  /** How often a shutdown looks whether the bodies have arrived; 20 ms unless set. */
  pollMs?: number;
}

export interface ReceiverServer {
  hostname: string;
  /** The port actually bound. */
  port: number;
  /** http://host:port, with IPv6 hosts in brackets. */
  url: string;
  /**
   * Refuses new requests, lets the bodies being read arrive, stops accepting
   * and waits for the requests in flight, for at most `graceMs` in all.
   * Resolves true when everything finished in time, false when the grace
   * period ran out first (connections are still open then: exit).
   */
  shutdown(graceMs: number): Promise<boolean>;
  /** Resolves once Deno's server has stopped (every connection closed). */
  finished: Promise<void>;
}

const SHUTTING_DOWN = "the receiver is shutting down; send it again\n";
const SHUTTING_DOWN_INIT: ResponseInit = {
  status: 503,
  headers: {
    "content-type": "text/plain; charset=utf-8",
    "connection": "close",
    "retry-after": "5",
  },
};

/** Binds and starts serving; throws (e.g. Deno.errors.AddrInUse) if it cannot bind. */
export function startReceiverServer(
  options: ReceiverServerOptions,
): ReceiverServer {
  const { app, bodies } = options;
  let draining = false;

  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    // Deno prints a banner to stdout unless told otherwise; stdout is data.
    onListen: () => {},
    onError: (error) => {
      // An answer given up on a client that stopped reading is counted, not an error.
      if (!(error instanceof AbandonedAnswer)) options.onError?.(error);
      return new Response("internal error\n", { status: 500 });
    },
  }, (request) => {
    if (!draining) return app.fetch(request);
    request.body?.cancel().catch(() => {});
    return new Response(SHUTTING_DOWN, SHUTTING_DOWN_INIT);
  });

  let stopping: Promise<boolean> | undefined;
  const shutdown = (graceMs: number) =>
    stopping ??= (async () => {
      draining = true;
      const deadline = Date.now() + graceMs;
      while (bodies.reading > 0 && Date.now() < deadline) {
        await sleep(options.pollMs ?? 20);
      }
      return await within(server.shutdown(), deadline - Date.now());
    })();

  const { hostname, port } = server.addr;
  return {
    hostname,
    port,
    url: `http://${hostForAddress(hostname)}:${port}`,
    shutdown,
    finished: server.finished,
  };
}

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
