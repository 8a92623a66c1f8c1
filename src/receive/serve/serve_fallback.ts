// The receiver served by Deno.serve, for a runtime without the per-connection
// server (deno_connection.ts). Deno.serve accepts connections inside the
// runtime, so what the receiver does per connection is lost: HEADER_TIMEOUT,
// IDLE_TIMEOUT, MAX_CONNECTIONS (and making room past it), the connection
// figures of /metrics, and closing waiting connections at once on shutdown.
// Requests are served as ever (the same app, its limits on bodies and
// answers), and a shutdown still answers new requests 503 while the bodies on
// their way arrive.

import { hostForAddress } from "../../net/host.ts";
import { sleep } from "../../runtime/delay.ts";
import { fixedAnswer } from "./fixed_answer.ts";
import type {
  ReceiverServer,
  ReceiverServerOptions,
} from "./server_contract.ts";
import { AbandonedAnswer } from "./stream.ts";
import { EVERY_INTERFACE } from "./listen.ts";
import { settledWithin } from "./settled_within.ts";

/** What the fallback loses, for the one warning. */
export const FALLBACK_LOSES =
  "HEADER_TIMEOUT and IDLE_TIMEOUT (a slow or idle client keeps its connection), MAX_CONNECTIONS (connections are not capped), the connection figures of /metrics, and closing waiting connections at once on shutdown";

const SHUTTING_DOWN = "the receiver is shutting down; send it again\n";
const SHUTTING_DOWN_INIT: ResponseInit = {
  status: 503,
  headers: {
    "content-type": "text/plain; charset=utf-8",
    "connection": "close",
    "retry-after": "5",
  },
};

/** The answer to a request that arrives while the receiver shuts down. */
export const shuttingDown = (): Response =>
  fixedAnswer(SHUTTING_DOWN, SHUTTING_DOWN_INIT);

/** Deno.serve on `options.hostname` (IPv4 alone when "::" cannot be had). */
function serveOn(
  options: ReceiverServerOptions,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  onError: (error: unknown) => Response,
): { server: Deno.HttpServer<Deno.NetAddr>; note: string | null } {
  const serve = (hostname: string) =>
    Deno.serve(
      { hostname, port: options.port, onListen: () => {}, onError },
      handler,
    );
  if (options.hostname !== EVERY_INTERFACE) {
    return { server: serve(options.hostname), note: null };
  }
  try {
    return { server: serve(EVERY_INTERFACE), note: null };
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) throw err;
    return {
      server: serve("0.0.0.0"),
      note:
        "IPv6 is not available on this host: listening on every IPv4 interface only",
    };
  }
}

/** Serves `options.app` with Deno.serve; `missing` says why the usual server cannot be had. */
export function startFallbackServer(
  options: ReceiverServerOptions,
  missing: Error,
): ReceiverServer {
  let draining = false;
  const onError = (error: unknown) => {
    if (!(error instanceof AbandonedAnswer)) options.onError?.(error);
    return new Response("internal error\n", { status: 500 });
  };
  const handler = (request: Request) => {
    if (!draining) return options.app.fetch(request);
    request.body?.cancel().catch(() => {});
    return shuttingDown();
  };
  const { server, note } = serveOn(options, handler, onError);
  let stopping: Promise<boolean> | undefined;
  const shutdown = (graceMs: number) =>
    stopping ??= (async () => {
      draining = true;
      const deadline = Date.now() + graceMs;
      while (options.bodies.reading > 0 && Date.now() < deadline) {
        await sleep(options.pollMs ?? 20);
      }
      return await settledWithin(server.shutdown(), deadline - Date.now());
    })();
  const { hostname, port } = server.addr;
  return {
    fallback:
      `${missing.message}: serving with Deno.serve instead, without ${FALLBACK_LOSES}`,
    listenNote: note,
    hostname,
    port,
    url: `http://${hostForAddress(hostname)}:${port}`,
    connections: () => ({
      open: 0,
      max: 0,
      refused: 0,
      evicted: 0,
      closed: { header_timeout: 0, idle_timeout: 0 },
    }),
    shutdown,
    finished: server.finished,
  };
}
