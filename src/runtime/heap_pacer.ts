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
// it does nothing. pacingFor() sizes the two from the pod's memory limit.

import { getHeapStatistics } from "node:v8";
import { MiB } from "./units.ts";

/** How paceHeap paces; pacingFor() gives them for a memory limit. */
export interface HeapPacerOptions {
  /** Heap allowed whatever the live size; 14 MB unless set. */
  floorBytes?: number;
  /** Growth allowed over the live size after a collection; 6 MB unless set. */
  slackBytes?: number;
  /** How often the heap is looked at; 20 ms unless set. */
  everyMs?: number;
  /** Bytes of heap in use; V8's own figure unless a test gives one. */
  usedHeap?: () => number;
  /**
   * Bytes the heap holds from the system (committed heap pages and the
   * buffers' memory outside them), whose peak the pacer keeps; V8's figure
   * unless a test gives one.
   */
  heldHeap?: () => number;
  /** A full collection; globalThis.gc when the runtime exposes it. */
  collect?: () => void;
}

/** A running pacer, as paceHeap returns it. */
export interface HeapPacer {
  /** Full collections the pacer has asked for so far. */
  readonly collections: number;
  /** The most `heldHeap` seen at a look so far (0 without gc()). */
  readonly peakHeldBytes: number;
  /** Looks at the heap now, between the regular looks (after a burst of allocation). */
  check(): void;
  /** A full collection now (between two stages of work), whatever the heap. */
  collectNow(): void;
  /** Stops looking at the heap; the pacer does nothing more after it. */
  stop(): void;
}

/** The floor, slack and period a pacer uses where its options say nothing. */
export const PACER_DEFAULTS = {
  floorBytes: 14_000_000,
  slackBytes: 6_000_000,
  everyMs: 20,
} as const;

/**
 * A limit at or above this leaves the defaults alone; below it, the heap is
 * held to its live size plus a slack that shrinks with the limit.
 */
export const ROOMY_LIMIT_BYTES: number = 64 * MiB;

/** The smallest slack: a full collection per MB promoted (6 at 100 000 models, ~50 ms in all). */
export const MIN_SLACK_BYTES = 1_000_000;

/**
 * The pacer's floor and slack for a memory limit (the cgroup's, or none).
 * Under ROOMY_LIMIT_BYTES there is no floor (the limit, not V8's liking,
 * decides) and the slack goes from 6 MB at 64 MiB down to 1 MB at 32 MiB and
 * below. Measured at 100 000 models: peak RssAnon 30–32 MiB with the
 * defaults, 25–26 MiB with a 1 MB slack (docs/performance.md).
 */
export function pacingFor(limitBytes: number | undefined): HeapPacerOptions {
  if (limitBytes === undefined || limitBytes >= ROOMY_LIMIT_BYTES) return {};
  const share = (limitBytes - ROOMY_LIMIT_BYTES / 2) / (ROOMY_LIMIT_BYTES / 2);
  const slack = MIN_SLACK_BYTES +
    Math.max(0, share) * (PACER_DEFAULTS.slackBytes - MIN_SLACK_BYTES);
  return { floorBytes: 0, slackBytes: Math.round(slack) };
}

function v8Held(): number {
  const heap = getHeapStatistics();
  return heap.total_heap_size + heap.external_memory;
}

/**
 * Starts pacing; call stop() when the collection is over. Without a `gc()`
 * exposed by the runtime (the shipped binary runs with --expose-gc) and no
 * `collect` given, it returns a pacer that does nothing.
 *
 * @example
 * ```ts
 * import { paceHeap, pacingFor } from "./heap_pacer.ts";
 *
 * // Sized for a 32 MiB pod: no floor, a 1 MB slack.
 * const pacer = paceHeap(pacingFor(32 * 1024 * 1024));
 * try {
 *   const pages = Array.from({ length: 100 }, () => new Uint8Array(64 * 1024));
 *   pacer.check(); // after a burst of allocation
 *   console.log(pages.length);
 * } finally {
 *   pacer.stop();
 * }
 * console.log(pacer.collections, pacer.peakHeldBytes); // 0 0 without gc()
 * ```
 */
export function paceHeap(options: HeapPacerOptions = {}): HeapPacer {
  const collect = options.collect ??
    (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) {
    return {
      collections: 0,
      peakHeldBytes: 0,
      check: () => {},
      collectNow: () => {},
      stop: () => {},
    };
  }
  const used = options.usedHeap ?? (() => getHeapStatistics().used_heap_size);
  const held = options.heldHeap ?? v8Held;
  const floor = options.floorBytes ?? PACER_DEFAULTS.floorBytes;
  const slack = options.slackBytes ?? PACER_DEFAULTS.slackBytes;
  let limit = floor;
  let collections = 0;
  let peak = 0;
  const collectNow = () => {
    collect();
    collections++;
    limit = Math.max(floor, used() + slack);
  };
  const check = () => {
    peak = Math.max(peak, held());
    if (used() > limit) collectNow();
  };
  const timer = setInterval(check, options.everyMs ?? PACER_DEFAULTS.everyMs);
  return {
    get collections() {
      return collections;
    },
    get peakHeldBytes() {
      return peak;
    },
    check,
    collectNow,
    stop: () => clearInterval(timer),
  };
}
