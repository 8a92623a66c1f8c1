// SIGTERM and SIGINT as an AbortSignal, for commands that stop cleanly and
// then say what was left undone.

/** The signals that stop a command: Kubernetes' SIGTERM and a terminal's Ctrl-C. */
export const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;
/** One of STOP_SIGNALS, as `onStop` is told which one came. */
export type StopSignal = typeof STOP_SIGNALS[number];

/** What stopOnSignals gives: the signal to pass on, and how to let go of it. */
export interface StopOnSignals {
  /** Aborted on the first stop signal; pass it to whatever should end then. */
  signal: AbortSignal;
  /** Removes the listeners; the process's default handling comes back. */
  dispose(): void;
}

/**
 * Aborts `signal` on the first SIGTERM or SIGINT, calling `onStop` once with
 * the signal's name. While it listens, those signals no longer kill the
 * process: call `dispose()` when the command is done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { delay } from "./delay.ts";
 * import { stopOnSignals } from "./stop_signals.ts";
 *
 * const stop = stopOnSignals((signal) => console.log(`stopping on ${signal}`));
 * try {
 *   await delay(10, stop.signal); // work that a stop signal cuts short
 *   assert.equal(stop.signal.aborted, false); // no signal came
 * } finally {
 *   stop.dispose();
 * }
 * ```
 */
export function stopOnSignals(
  onStop?: (signal: StopSignal) => void,
): StopOnSignals {
  const stop = new AbortController();
  const handlers = STOP_SIGNALS.map((s) => {
    const handler = () => {
      if (!stop.signal.aborted) onStop?.(s);
      stop.abort();
    };
    Deno.addSignalListener(s, handler);
    return [s, handler] as const;
  });
  return {
    signal: stop.signal,
    dispose: () => {
      for (const [s, handler] of handlers) {
        Deno.removeSignalListener(s, handler);
      }
    },
  };
}
