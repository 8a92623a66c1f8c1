// Deno's HTTP server (the native one Deno.serve runs) on one connection the
// receiver accepted itself. Deno.serve accepts connections inside the runtime
// and cannot close one that is slow to send a request's head or sits idle
// between requests, nor cap how many are open (Deno 2.9.6). Accepting them
// ourselves and serving each with the same server gives the receiver both,
// at the cost of an internal of the pinned runtime: Deno[Deno.internal]
// .serveHttpOnConnection. tests/receive_server_test.ts fails if a runtime
// upgrade takes it away; the receiver then serves with Deno.serve, saying
// what it loses (serve_fallback.ts).
// Deno's graceful close of such a connection is not used: once begun, the
// connection can no longer be closed at once, and a client could hold it.

import { PINNED_DENO_VERSION } from "./runtime_check.ts";

/** What answers each request of a connection (the app, through the server's bookkeeping). */
export type ConnectionHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** A connection being served by Deno's HTTP server. */
export interface ServedConnection {
  /** Resolves when the connection is closed, by either side. */
  finished: Promise<void>;
  /** Closes the connection at once, answers in flight or not; safe to repeat. */
  close(): void;
}

/** Serves one accepted connection with Deno's HTTP server: its requests to `handler`, what it throws to `onError`. */
export type ServeConnection = (
  conn: Deno.Conn,
  handler: ConnectionHandler,
  onError: (error: unknown) => Response | Promise<Response>,
) => ServedConnection;

/** What Deno's per-connection server takes of an AbortSignal. */
interface CloseSignal {
  addEventListener(type: "abort", listener: () => void): void;
}

type Internal = (
  conn: Deno.Conn,
  signal: CloseSignal,
  handler: ConnectionHandler,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: (scheme: string) => void,
) => { finished: Promise<void> };

/** The runtime's internals, as far as the receiver looks at them. */
export type DenoInternals = { serveHttpOnConnection?: unknown } | undefined;

/** The runtime's internals, where Deno keeps them. */
export function denoInternals(): DenoInternals {
  return (Deno as unknown as Record<symbol, never>)[
    (Deno as unknown as { internal: symbol }).internal
  ];
}

/** Deno's per-connection server, or an error naming what this runtime lacks. */
export function denoConnectionServer(
  internals: DenoInternals = denoInternals(),
): ServeConnection | Error {
  const serve = internals?.serveHttpOnConnection;
  if (typeof serve !== "function") {
    return new Error(
      `this Deno runtime (${Deno.version.deno}) has no per-connection HTTP server (Deno[Deno.internal].serveHttpOnConnection), an internal of the Deno version hodometer is built with (${PINNED_DENO_VERSION})`,
    );
  }
  return (conn, handler, onError) => {
    // Deno closes the connection when its signal aborts, and throws if it is
    // closed already (a race with the client closing it). A signal of our
    // own lets the receiver close it and ignore that.
    const onClose: Array<() => void> = [];
    const signal: CloseSignal = {
      addEventListener: (_type, listener) => onClose.push(listener),
    };
    const { finished } = (serve as Internal)(
      conn,
      signal,
      handler,
      onError,
      () => {},
    );
    let closed = false;
    return {
      finished,
      close: () => {
        if (closed) return;
        closed = true;
        for (const listener of onClose) {
          try {
            listener();
          } catch {
            // closed already
          }
        }
      },
    };
  };
}
