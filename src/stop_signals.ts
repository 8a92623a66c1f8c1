// SIGTERM and SIGINT as an AbortSignal, for commands that stop cleanly and
// then say what was left undone.

export const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

export interface StopOnSignals {
  signal: AbortSignal;
  /** Removes the listeners; the process's default handling comes back. */
  dispose(): void;
}

/** Aborts `signal` on the first SIGTERM or SIGINT, calling `onStop` once. */
export function stopOnSignals(onStop?: () => void): StopOnSignals {
  const stop = new AbortController();
  const handler = () => {
    if (!stop.signal.aborted) onStop?.();
    stop.abort();
  };
  for (const s of STOP_SIGNALS) Deno.addSignalListener(s, handler);
  return {
    signal: stop.signal,
    dispose: () => {
      for (const s of STOP_SIGNALS) Deno.removeSignalListener(s, handler);
    },
  };
}
