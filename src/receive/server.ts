// Serving a receiver app on Deno.serve, with a graceful stop.
//
// Deno's own server.shutdown() cuts off request bodies still arriving, which
// would lose an event mid-upload. So shutdown() first lets every request in
// flight finish (new ones get 503 with Connection: close meanwhile, so
// clients retry elsewhere or later), then shuts the server down.

export interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

export interface ReceiverServerOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  app: FetchApp;
  /** Called for errors the app did not turn into a response. */
  onError?: (error: unknown) => void;
  /** Longest wait for requests in flight at shutdown; 10 s unless set. */
  drainTimeoutMs?: number;
}

export interface ReceiverServer {
  hostname: string;
  /** The port actually bound. */
  port: number;
  /** http://host:port, with IPv6 hosts in brackets. */
  url: string;
  /** Refuses new requests, waits for those in flight to be answered, then stops. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** Binds and starts serving; throws (e.g. Deno.errors.AddrInUse) if it cannot bind. */
export function startReceiver(options: ReceiverServerOptions): ReceiverServer {
  let inFlight = 0;
  let draining = false;
  const drained = Promise.withResolvers<void>();

  const handle = async (request: Request): Promise<Response> => {
    if (draining) {
      await request.body?.cancel().catch(() => {});
      return new Response("the receiver is shutting down; send it again\n", {
        status: 503,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "connection": "close",
          "retry-after": "5",
        },
      });
    }
    inFlight++;
    try {
      return await options.app.fetch(request);
    } finally {
      inFlight--;
      if (draining && inFlight === 0) drained.resolve();
    }
  };

  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    // Deno prints a banner to stdout unless told otherwise; stdout is data.
    onListen: () => {},
    onError: (error) => {
      options.onError?.(error);
      return new Response("internal error\n", { status: 500 });
    },
  }, handle);

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      draining = true;
      if (inFlight === 0) drained.resolve();
      const limit = options.drainTimeoutMs ?? 10_000;
      await within(drained.promise, limit);
      // Deno waits for clients that still owe body bytes to hang up; bound it,
      // the process exit closes whatever is left.
      await within(server.shutdown(), limit);
    })();
    return stopping;
  };

  const { hostname, port } = server.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    hostname,
    port,
    url: `http://${host}:${port}`,
    shutdown,
    finished: server.finished,
  };
}

/** Waits for `promise`, but no longer than `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
