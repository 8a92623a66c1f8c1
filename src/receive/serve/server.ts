// Serving the receiver's app, and stopping it within a grace period.
//
// Connections are accepted here and each is served by Deno's own HTTP server
// (deno_connection.ts), so the receiver can do what Deno.serve cannot: close
// a connection that is slow to send a request's head or sits idle between
// requests (connection_watch.ts), and past MAX_CONNECTIONS close the one
// that has waited longest for a request to make room for a new one (503 only
// when every connection has a request in flight). Bodies and answers are bounded by the app (BODY_TIMEOUT).
//
// Deno's graceful close cuts off request bodies still arriving, which would
// lose an event mid-upload. So shutdown(graceMs) first lets the bodies being
// read arrive (new requests meanwhile get 503 with Connection: close, so
// clients send them again later or elsewhere), then stops accepting, closes
// every connection once its requests in flight are answered, and closes the
// rest when the grace period is over: the caller exits then, whatever the
// clients do.

import { SETTINGS } from "../../config/settings.ts";
import { hostForAddress } from "../../net/host.ts";
import { sleep } from "../../runtime/delay.ts";
import { ConnectionWatch } from "./connection_watch.ts";
import {
  type ConnectionHandler,
  denoConnectionServer,
  denoInternals,
  type ServedConnection,
} from "./deno_connection.ts";
import { listen } from "./listen.ts";
import { shuttingDown, startFallbackServer } from "./serve_fallback.ts";
import type {
  ReceiverServer,
  ReceiverServerOptions,
} from "./server_contract.ts";
import { isFixedAnswer } from "./fixed_answer.ts";
import { settledWithin } from "./settled_within.ts";
import { AbandonedAnswer } from "./stream.ts";

export type {
  ConnectionStats,
  FetchApp,
  ReceiverServer,
  ReceiverServerOptions,
} from "./server_contract.ts";

const TOO_MANY_CONNECTIONS = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\n" +
    "content-type: text/plain; charset=utf-8\r\n" +
    "connection: close\r\nretry-after: 1\r\ncontent-length: 47\r\n\r\n" +
    "too many connections open; send it again later\n",
);
const INTERNAL_ERROR_INIT: ResponseInit = { status: 500 };
/** After a failed accept (e.g. out of file descriptors), before the next. */
const ACCEPT_BACKOFF_MS = 100;

/**
 * Binds and starts serving; throws (e.g. Deno.errors.AddrInUse) if it cannot
 * bind. A runtime without the per-connection server is served by Deno.serve
 * instead (serve_fallback.ts), which says what is lost in `fallback`.
 */
export function startReceiverServer(
  options: ReceiverServerOptions,
): ReceiverServer {
  const serveConnection = denoConnectionServer(
    options.internals ?? denoInternals(),
  );
  if (serveConnection instanceof Error) {
    return startFallbackServer(options, serveConnection);
  }
  const { app, bodies } = options;
  const maxConnections = options.maxConnections ??
    SETTINGS.maxConnections.default;
  const watch = new ConnectionWatch({
    headerTimeoutMs: options.headerTimeoutMs ??
      SETTINGS.headerTimeoutMs.default,
    idleTimeoutMs: options.idleTimeoutMs ?? SETTINGS.idleTimeoutMs.default,
  }, () => performance.now());
  const served = new Set<ServedConnection>();
  let refused = 0;
  let draining = false;
  let accepting = true;

  const onError = (error: unknown) => {
    // An answer given up on a client that stopped reading is counted, not an error.
    if (!(error instanceof AbandonedAnswer)) options.onError?.(error);
    return new Response("internal error\n", INTERNAL_ERROR_INIT);
  };

  const { listeners, note } = listen(
    options.hostname,
    options.port,
    options.bind,
  );
  const sweeper = setInterval(() => watch.sweep(), watch.sweepEveryMs);

  const serve = (conn: Deno.Conn) => {
    // Answers are written whole; Nagle's algorithm would only delay them.
    (conn as Deno.TcpConn).setNoDelay(true);
    const watched = watch.opened(() => connection.close());
    const finish = () => watch.answerFinished(watched);
    const failed = (error: unknown) => {
      finish();
      throw error;
    };
    const settle = (answer: Response, info: Deno.ServeHandlerInfo) => {
      // A refusal that leaves the request's body unread closes the connection.
      if (
        answer.status >= 400 && answer.headers.get("connection") === "close"
      ) {
        watched.closeAfterAnswer = true;
      }
      if (isFixedAnswer(answer)) finish();
      else info.completed.then(finish, finish);
      return answer;
    };
    const handler: ConnectionHandler = (request, info) => {
      watch.requestStarted(watched);
      if (draining) {
        request.body?.cancel().catch(() => {});
        return settle(shuttingDown(), info);
      }
      let answer: Response | Promise<Response>;
      try {
        answer = app.fetch(request);
      } catch (error) {
        return failed(error);
      }
      return answer instanceof Promise
        ? answer.then((a) => settle(a, info), failed)
        : settle(answer, info);
    };
    const connection = serveConnection(conn, handler, onError);
    served.add(connection);
    const gone = () => {
      watch.gone(watched);
      served.delete(connection);
    };
    connection.finished.then(gone, gone);
  };

  const refuse = (conn: Deno.Conn) => {
    refused++;
    conn.write(TOO_MANY_CONNECTIONS).catch(() => {}).finally(() =>
      closeQuietly(conn)
    );
  };

  // Out of file descriptors, say: said once a second at most, not per try.
  let acceptErrorReportedAt = -Infinity;
  const reportAcceptError = (error: unknown) => {
    const now = performance.now();
    if (now - acceptErrorReportedAt < 1000) return;
    acceptErrorReportedAt = now;
    options.onAcceptError?.(error);
  };

  const acceptFrom = async (listener: Deno.TcpListener) => {
    while (accepting) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (!accepting || err instanceof Deno.errors.BadResource) break;
        reportAcceptError(err);
        await sleep(ACCEPT_BACKOFF_MS);
        continue;
      }
      try {
        // Past the cap, the connection that waited longest for a request
        // makes room; refused only when every one has a request in flight.
        if (watch.size >= maxConnections && !watch.evictWaiting()) {
          refuse(conn);
        } else serve(conn);
      } catch (err) {
        // A connection reset before it could be served, for one.
        closeQuietly(conn);
        reportAcceptError(err);
      }
    }
  };
  const accepted = Promise.all(listeners.map(acceptFrom));

  const stopAccepting = () => {
    if (!accepting) return;
    accepting = false;
    for (const listener of listeners) {
      try {
        listener.close();
      } catch {
        // closed already
      }
    }
  };

  const allClosed = async () => {
    await accepted;
    while (served.size > 0) {
      await Promise.allSettled([...served].map((c) => c.finished));
    }
  };

  let stopping: Promise<boolean> | undefined;
  const shutdown = (graceMs: number) =>
    stopping ??= (async () => {
      draining = true;
      const deadline = Date.now() + graceMs;
      while (bodies.reading > 0 && Date.now() < deadline) {
        await sleep(options.pollMs ?? 20);
      }
      stopAccepting();
      // Each connection is closed once nothing is in flight on it; the rest
      // when the grace period is over.
      watch.closeWaiting();
      const closing = setInterval(
        () => watch.closeWaiting(),
        options.pollMs ?? 20,
      );
      const inTime = await settledWithin(allClosed(), deadline - Date.now());
      clearInterval(closing);
      clearInterval(sweeper);
      if (!inTime) watch.closeAll();
      return inTime;
    })();

  const { hostname, port } = listeners[0]!.addr;
  return {
    fallback: null,
    listenNote: note,
    hostname,
    port,
    url: `http://${hostForAddress(hostname)}:${port}`,
    connections: () => ({
      open: watch.size,
      max: maxConnections,
      refused,
      evicted: watch.evicted,
      closed: watch.closed,
    }),
    shutdown,
    finished: allClosed(),
  };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed by the client already
  }
}
