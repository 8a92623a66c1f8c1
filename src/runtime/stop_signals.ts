// SIGTERM and SIGINT as an AbortSignal, for commands that stop cleanly and
// then say what was left undone.

export const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;
export type StopSignal = typeof STOP_SIGNALS[number];

export interface StopOnSignals {
  signal: AbortSignal;
  /** Removes the listeners; the process's default handling comes back. */
  dispose(): void;
}

/**
 * Aborts `signal` on the first SIGTERM or SIGINT, calling `onStop` once with
 * the signal's name.
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
