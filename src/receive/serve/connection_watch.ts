// The receiver's open connections and their deadlines. A connection with no
// request in flight is waiting for a request's head: a new one gets
// HEADER_TIMEOUT for its first head, a kept-alive one IDLE_TIMEOUT (from its
// last answer) for its next. Past that it is closed, whether the client sent
// nothing, part of a head, or a head a byte at a time. Bodies and answers are
// bounded elsewhere (BODY_TIMEOUT). Pure: the clock is a parameter and
// closing a connection is the caller's.
//
// Past the connection cap, a newcomer is not refused while some connection
// sits waiting for a request: the one that has waited longest (silent since
// it opened, or since its last answer) is closed to make room (evictWaiting).
// Only when every connection has a request in flight is the newcomer refused.
// So silent sockets cannot shut everyone else out for HEADER_TIMEOUT.
//
// An answer counts as finished once Deno has taken all of it, which can be a
// little before its last bytes are written; so a connection is never closed
// within LINGER_MS of its last answer, when it is closed because that answer
// said `Connection: close` or because the receiver is shutting down.

/** How long a connection may wait for a request's head. */
export interface ConnectionDeadlines {
  /** A new connection, for its first request's head (HEADER_TIMEOUT). */
  headerTimeoutMs: number;
  /** A kept-alive connection, between its answers and the next request (IDLE_TIMEOUT). */
  idleTimeoutMs: number;
}

/** waitingSince of a connection answered since the last sweep. */
const NOT_YET = -1;

/** How long an answered connection is left open before it is closed on purpose. */
export const LINGER_MS = 500;

/** Why a connection waiting for a request was closed: which deadline it passed. */
export type ConnectionClosedReason = "header_timeout" | "idle_timeout";

/** One open connection, as the watch sees it. */
export interface WatchedConnection {
  /** Requests whose answer is not finished yet. */
  inFlight: number;
  /** When the connection opened, or the first sweep after its last answer (ms). */
  waitingSince: number;
  /** Whether it has been answered at least once (kept alive since). */
  answered: boolean;
  /** Whether an answer said `Connection: close`: closed once it is finished. */
  closeAfterAnswer: boolean;
  /** Closes the connection at once. */
  close(): void;
}

/** The open connections, each with its requests in flight and how long it has waited for one. */
export class ConnectionWatch {
  readonly #open = new Set<WatchedConnection>();
  readonly #deadlines: ConnectionDeadlines;
  readonly #now: () => number;
  /** Connections closed for waiting too long, by reason (since start). */
  readonly closed: Record<ConnectionClosedReason, number> = {
    header_timeout: 0,
    idle_timeout: 0,
  };
  /** Connections closed to make room for a newcomer past the cap (since start). */
  evicted = 0;

  /** A watch holding connections to `deadlines`, on the clock `now` (ms). */
  constructor(deadlines: ConnectionDeadlines, now: () => number) {
    this.#deadlines = deadlines;
    this.#now = now;
  }

  /** Connections open now. */
  get size(): number {
    return this.#open.size;
  }

  /** How often sweep() should run to close connections close to their deadline. */
  get sweepEveryMs(): number {
    const shortest = Math.min(
      this.#deadlines.headerTimeoutMs,
      this.#deadlines.idleTimeoutMs,
      LINGER_MS,
    );
    return Math.max(25, Math.floor(shortest / 8));
  }

  /** A connection just accepted, waiting for its first request; `close` closes it. */
  opened(close: () => void): WatchedConnection {
    const connection: WatchedConnection = {
      inFlight: 0,
      waitingSince: this.#now(),
      answered: false,
      closeAfterAnswer: false,
      close,
    };
    this.#open.add(connection);
    return connection;
  }

  /** A request of `connection` began: it waits no more until its answer is finished. */
  requestStarted(connection: WatchedConnection): void {
    connection.inFlight++;
  }

  /**
   * Its wait starts at the next sweep: reading the clock is an op in Deno,
   * too dear to pay on every answer, and a deadline is only ever checked by a
   * sweep anyway. So a kept-alive connection waits IDLE_TIMEOUT at least,
   * and at most a sweep more.
   */
  answerFinished(connection: WatchedConnection): void {
    connection.inFlight--;
    connection.answered = true;
    connection.waitingSince = NOT_YET;
  }

  /** The connection is gone (closed by either side): forget it. */
  gone(connection: WatchedConnection): void {
    this.#open.delete(connection);
  }

  /**
   * Closes every connection waiting past its deadline, and those whose
   * answer said `Connection: close` once LINGER_MS have passed (the client
   * may still be sending what the answer refused to read).
   */
  sweep(): void {
    const now = this.#now();
    const { headerTimeoutMs, idleTimeoutMs } = this.#deadlines;
    for (const connection of this.#open) {
      if (connection.inFlight > 0 || this.#startsWaiting(connection, now)) {
        continue;
      }
      const waited = now - connection.waitingSince;
      if (connection.closeAfterAnswer && waited >= LINGER_MS) {
        this.#close(connection);
        continue;
      }
      const limit = connection.answered ? idleTimeoutMs : headerTimeoutMs;
      if (waited < limit) continue;
      this.closed[connection.answered ? "idle_timeout" : "header_timeout"]++;
      this.#close(connection);
    }
  }

  /** Closes every connection with no request in flight, answered ones LINGER_MS after their answer (shutting down). */
  closeWaiting(): void {
    const now = this.#now();
    for (const connection of this.#open) {
      if (connection.inFlight > 0 || this.#startsWaiting(connection, now)) {
        continue;
      }
      if (connection.answered && now - connection.waitingSince < LINGER_MS) {
        continue;
      }
      this.#close(connection);
    }
  }

  /**
   * Closes the connection that has waited longest for a request (none in
   * flight), to make room for a new one; false when every connection has a
   * request in flight. One answered since the last sweep has waited least.
   */
  evictWaiting(): boolean {
    let oldest: WatchedConnection | undefined;
    for (const connection of this.#open) {
      if (connection.inFlight > 0) continue;
      if (oldest === undefined || waitedLonger(connection, oldest)) {
        oldest = connection;
      }
    }
    if (oldest === undefined) return false;
    this.evicted++;
    this.#close(oldest);
    return true;
  }

  /** Starts the wait of a connection just answered; whether it did. */
  #startsWaiting(connection: WatchedConnection, now: number): boolean {
    if (connection.waitingSince !== NOT_YET) return false;
    connection.waitingSince = now;
    return true;
  }

  #close(connection: WatchedConnection): void {
    this.#open.delete(connection);
    connection.close();
  }

  /** Closes every open connection (the end of a grace period). */
  closeAll(): void {
    for (const connection of this.#open) this.#close(connection);
  }
}

/** Whether `a` has waited for a request longer than `b` (a just-answered one, the least). */
function waitedLonger(a: WatchedConnection, b: WatchedConnection): boolean {
  if (a.waitingSince === NOT_YET) return false;
  return b.waitingSince === NOT_YET || a.waitingSince < b.waitingSince;
}
