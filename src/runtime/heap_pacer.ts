// Keeps the V8 heap near its live size while the agent collects.
//
// V8 sizes its heap from its own limit and the host, not the pod: given the
// 96 MB old generation the binary ships with (room for @kubernetes/client-node
// on the kubeconfig path), a collection of 100 000 models sometimes lets its
// garbage pile up to ~80 MiB of resident memory before V8 collects. While a
// collection runs, the pacer looks at the used heap every few milliseconds and
// collects (gc(), exposed by the --expose-gc V8 flag) once it is `slackBytes`
// above what the last collection left, and never lets it pass `floorBytes`
// unless the live heap itself is larger. Without gc() (tests, other runtimes)
// it does nothing.

import { getHeapStatistics } from "node:v8";

export interface HeapPacerOptions {
  /** Heap allowed whatever the live size; 14 MB unless set. */
  floorBytes?: number;
  /** Growth allowed over the live size after a collection; 6 MB unless set. */
  slackBytes?: number;
  /** How often the heap is looked at; 20 ms unless set. */
  everyMs?: number;
  /** Bytes of heap in use; V8's own figure unless a test gives one. */
  usedHeap?: () => number;
  /** A full collection; globalThis.gc when the runtime exposes it. */
  collect?: () => void;
}

export interface HeapPacer {
  /** Full collections the pacer has asked for so far. */
  readonly collections: number;
  /** Looks at the heap now, between the regular looks (after a burst of allocation). */
  check(): void;
  stop(): void;
}

export const PACER_DEFAULTS = {
  floorBytes: 14_000_000,
  slackBytes: 6_000_000,
  everyMs: 20,
} as const;

/** Starts pacing; call stop() when the collection is over. */
export function paceHeap(options: HeapPacerOptions = {}): HeapPacer {
  const collect = options.collect ??
    (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) {
    return { collections: 0, check: () => {}, stop: () => {} };
  }
  const used = options.usedHeap ?? (() => getHeapStatistics().used_heap_size);
  const floor = options.floorBytes ?? PACER_DEFAULTS.floorBytes;
  const slack = options.slackBytes ?? PACER_DEFAULTS.slackBytes;
  let limit = floor;
  let collections = 0;
  const check = () => {
    if (used() <= limit) return;
    collect();
    collections++;
    limit = Math.max(floor, used() + slack);
  };
  const timer = setInterval(check, options.everyMs ?? PACER_DEFAULTS.everyMs);
  return {
    get collections() {
      return collections;
    },
    check,
    stop: () => clearInterval(timer),
  };
}
