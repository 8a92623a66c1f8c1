// Refused requests in the log without flooding it: at most a few lines per
// window of time, the rest counted and said in the next line logged. A client
// sending garbage in a loop costs a line now and then, not a line a request.

import type { Logger } from "../log/setup.ts";
import { excerpt } from "./ingest/mod.ts";
import type { Rejection } from "./event/mod.ts";

/** How many refusals are logged per window. */
export interface RefusalLogLimits {
  /** Lines per window; the rest are counted. */
  lines: number;
  /** The window's length (ms). */
  windowMs: number;
}

/** 10 lines per 10 s. */
const REFUSAL_LOG_LIMITS: RefusalLogLimits = {
  lines: 10,
  windowMs: 10_000,
};

/** The refusals of one receiver, logged within their limits. */
export class RefusalLog {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #limits: RefusalLogLimits;
  #windowStart = 0;
  #logged = 0;
  #suppressed = 0;

  /** Logs to `log` at info level; `now` in milliseconds. */
  constructor(
    log: Logger,
    now: () => number,
    limits: RefusalLogLimits = REFUSAL_LOG_LIMITS,
  ) {
    this.#log = log;
    this.#now = now;
    this.#limits = limits;
  }

  /** Says that `method route` was refused, unless the window's lines are used up. */
  refused(method: string, route: string, r: Rejection): void {
    const at = this.#now();
    if (at - this.#windowStart >= this.#limits.windowMs) {
      this.#windowStart = at;
      this.#logged = 0;
    }
    if (this.#logged >= this.#limits.lines) {
      this.#suppressed++;
      return;
    }
    this.#logged++;
    const more = this.#suppressed > 0
      ? ` (and ${this.#suppressed} more not logged)`
      : "";
    this.#suppressed = 0;
    this.#log.info(`refused {method} {route}: {status} {message}${more}`, {
      method: excerpt(method, 20),
      route,
      status: r.status,
      message: excerpt(r.message),
    });
  }
}
