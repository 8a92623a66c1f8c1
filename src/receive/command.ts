// `hodometer receive`: serve /track, /events and /healthz until SIGTERM or
// SIGINT, then stop accepting, answer what is in flight and exit 0.

import type { CommandContext } from "../commands.ts";
import { logger } from "../log/setup.ts";
import { createReceiverApp } from "./app.ts";
import { createMemoryStore } from "./memory_store.ts";
import { startReceiver } from "./server.ts";

type ReceiveKey = "listenHost" | "listenPort" | "recordLevel" | "maxEvents";

const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

export async function receiveCommand(
  ctx: CommandContext<ReceiveKey>,
): Promise<number> {
  const { listenHost, listenPort, recordLevel, maxEvents } = ctx.config;
  const log = logger("receive");
  const store = createMemoryStore({ recordLevel, maxEvents });

  let droppedLogged = 0;
  const app = createReceiverApp({
    store,
    recordLevel,
    logger: log,
    health: () => ({ ...store.stats() }),
    onAccepted: () => {
      const { droppedEvents } = store.stats();
      // Once when the ring first overflows, then once per ring-full of drops.
      const due = droppedEvents > 0 &&
        (droppedLogged === 0 || droppedEvents - droppedLogged >= maxEvents);
      if (!due) return;
      droppedLogged = droppedEvents;
      log.info(
        "keeping the newest {maxEvents} events; {droppedEvents} older one(s) dropped so far",
        { maxEvents, droppedEvents },
      );
    },
  });

  const stop = Promise.withResolvers<string>();
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => stop.resolve(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  try {
    let server;
    try {
      server = startReceiver({
        hostname: listenHost,
        port: listenPort,
        app,
        onError: (error) => log.error("request failed: {error}", { error }),
      });
    } catch (err) {
      log.error("cannot listen on {host}:{port}: {error}", {
        host: listenHost,
        port: listenPort,
        error: err instanceof Error ? err.message : String(err),
      });
      return 1;
    }
    log.info(`listening on ${server.url}`, { recordLevel, maxEvents });

    const signal = await stop.promise;
    log.info("{signal}: refusing new requests; finishing requests in flight", {
      signal,
    });
    await server.shutdown();
    log.info("stopped; {totalEvents} event(s) received", { ...store.stats() });
    return 0;
  } finally {
    for (const [signal, handler] of handlers) {
      Deno.removeSignalListener(signal, handler);
    }
    store.close();
  }
}
