// Whether the event store can write, as its writes and probes tell, and what
// to log about it: the first failure at once, then one line per interval with
// the count of failures since (a full disk under load failed 270 writes a
// second, each logged), and one line when it writes again. /healthz says not
// ok while it is failing.
//
// A failing store may see no more writes (readiness probes take the receiver
// out of its Service, clients give up): so while it is failing, a probe write
// is due every `probeEveryMs`, and one that succeeds ends the failure as a
// real write would. Pure: the clock is a parameter; logging and probing are
// the caller's.

/** Failures logged at most once per this, unless set. */
const STORE_LOG_EVERY_MS = 10_000;
/** A probe write at most once per this while failing, unless set. */
const STORE_PROBE_EVERY_MS = 5_000;

/** The clock and the intervals of a StoreHealth. */
export interface StoreHealthOptions {
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Failures logged at most once per this; STORE_LOG_EVERY_MS unless set. */
  logEveryMs?: number;
  /** A probe write at most once per this while failing; STORE_PROBE_EVERY_MS unless set. */
  probeEveryMs?: number;
}

/** What /healthz says of the store. */
export type StoreStatus =
  | { ok: true }
  | { ok: false; reason: string; sinceMs: number; failures: number };

interface Failing {
  sinceMs: number;
  cause: string;
  /** Failed writes since the failure began. */
  failures: number;
  /** Failed writes not yet said in a log line. */
  unlogged: number;
  loggedAtMs: number;
  probedAtMs: number;
}

/** Whether the store can write, as its writes and probes tell. */
export class StoreHealth {
  readonly #now: () => number;
  readonly #logEveryMs: number;
  readonly #probeEveryMs: number;
  #failing: Failing | null = null;

  /** A store not failing, on `options.now`. */
  constructor(options: StoreHealthOptions) {
    this.#now = options.now;
    this.#logEveryMs = options.logEveryMs ?? STORE_LOG_EVERY_MS;
    this.#probeEveryMs = options.probeEveryMs ?? STORE_PROBE_EVERY_MS;
  }

  /** A write failed with `cause`; the line to log now, if one is due. */
  failed(cause: string): string | null {
    const now = this.#now();
    const f = this.#failing;
    if (f === null) {
      this.#failing = {
        sinceMs: now,
        cause,
        failures: 1,
        unlogged: 0,
        loggedAtMs: now,
        probedAtMs: now,
      };
      return `the event store cannot write: ${cause}; events are answered 503 and /healthz is not ok until it can`;
    }
    f.cause = cause;
    f.failures++;
    f.unlogged++;
    if (now - f.loggedAtMs < this.#logEveryMs) return null;
    const line =
      `the event store still cannot write: ${f.unlogged} more failed write(s) in the last ${
        seconds(now - f.loggedAtMs)
      } (${f.failures} since ${new Date(f.sinceMs).toISOString()}): ${cause}`;
    f.unlogged = 0;
    f.loggedAtMs = now;
    return line;
  }

  /** A write (or a probe) succeeded; the line to log when that ends a failure. */
  succeeded(): string | null {
    const f = this.#failing;
    if (f === null) return null;
    this.#failing = null;
    return `the event store writes again, after ${f.failures} failed write(s) over ${
      seconds(this.#now() - f.sinceMs)
    }`;
  }

  /** Whether a probe write is due (the store is failing and none was tried lately); marks it tried. */
  probeDue(): boolean {
    const f = this.#failing;
    if (f === null) return false;
    const now = this.#now();
    if (now - f.probedAtMs < this.#probeEveryMs) return false;
    f.probedAtMs = now;
    return true;
  }

  /** What /healthz says of the store now. */
  status(): StoreStatus {
    const f = this.#failing;
    if (f === null) return { ok: true };
    return {
      ok: false,
      reason: `the event store cannot write: ${f.cause}`,
      sinceMs: f.sinceMs,
      failures: f.failures,
    };
  }
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
