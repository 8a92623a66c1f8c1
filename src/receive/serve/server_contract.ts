// What serves the receiver's app, whichever server it is: the receiver's own
// (server.ts, connections accepted and watched) or Deno.serve on a runtime
// without the per-connection hook (serve_fallback.ts). Types only.

import type {
  ConnectionDeadlines,
  ConnectionWatch,
} from "./connection_watch.ts";
import type { DenoInternals } from "./deno_connection.ts";
import type { Bind } from "./listen.ts";

/**
 * The request bodies the app is reading, as a server sees them (the ingest
 * layer's BodyBudget is one): a shutdown lets them arrive first.
 */
export interface BodiesInFlight {
  /** Bodies being read now. */
  readonly reading: number;
}

/** The routes, as a server calls them. */
export interface FetchApp {
  /** The answer to one request. */
  fetch(request: Request): Response | Promise<Response>;
}

/** How to serve. */
export interface ReceiverServerOptions extends Partial<ConnectionDeadlines> {
  /** The address to listen on; "::" is every interface, IPv4 and IPv6 (listen.ts). */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** The routes served. */
  app: FetchApp;
  /** The bodies the app is reading: a shutdown lets them arrive first. */
  bodies: BodiesInFlight;
  /** Connections open at once; MAX_CONNECTIONS's default unless set. */
  maxConnections?: number;
  /** Errors the app did not turn into an answer (answered 500). */
  onError?: (error: unknown) => void;
  /** Connections that could not be accepted or served (once a second at most). */
  onAcceptError?: (error: unknown) => void;
  /** How often a shutdown looks whether the bodies have arrived; 20 ms unless set. */
  pollMs?: number;
  /** The runtime's internals, where its per-connection server is looked up; Deno's own unless given (tests). */
  internals?: DenoInternals;
  /** How an address is bound; Deno.listen unless given (tests). */
  bind?: Bind;
}

/** The connections' figures, for /metrics. */
export interface ConnectionStats {
  /** Connections open now. */
  open: number;
  /** MAX_CONNECTIONS. */
  max: number;
  /** Connections answered 503 because MAX_CONNECTIONS were open, each with a request in flight (since start). */
  refused: number;
  /** Connections waiting for a request closed to make room past MAX_CONNECTIONS (since start). */
  evicted: number;
  /** Connections closed for waiting too long for a request's head (since start). */
  closed: Readonly<ConnectionWatch["closed"]>;
}

/** A server serving, and how to stop it. */
export interface ReceiverServer {
  /** What this server cannot do that the receiver otherwise does (it serves with Deno.serve); null when nothing. */
  fallback: string | null;
  /** How it listens, when a person should know (IPv4 only, say); null otherwise. */
  listenNote: string | null;
  /** The address listened on (its first socket's). */
  hostname: string;
  /** The port actually bound. */
  port: number;
  /** http://host:port, with IPv6 hosts in brackets. */
  url: string;
  /** The connections' figures now (all 0 for the fallback, which cannot see them). */
  connections(): ConnectionStats;
  /**
   * Refuses new requests, lets the bodies being read arrive, stops accepting
   * and waits for the requests in flight, for at most `graceMs` in all.
   * Resolves true when everything finished in time, false when the grace
   * period ran out first (the connections left are closed then).
   */
  shutdown(graceMs: number): Promise<boolean>;
  /** Resolves once the server has stopped (every connection closed). */
  finished: Promise<void>;
}
