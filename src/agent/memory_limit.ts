// The agent and its pod's memory limit: read once at start and said, and,
// once a cycle has shown what its heap held, a warning when the limit is
// below what the cluster needs.

import {
  type LimitReading,
  readMemoryLimit,
} from "../runtime/cgroup_memory.ts";
import { MiB } from "../runtime/units.ts";

/** What the functions below say things with (a Logger, or a test's recorder). */
export interface LimitLog {
  /** Says the limit found at start. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Says why no limit is known. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Says that a cycle needed more than the limit. */
  warn(message: string, properties?: Record<string, unknown>): void;
}

/**
 * What the agent needs besides its JavaScript heap: the runtime's own memory
 * (Rust and C++ allocations, the executable's data, the kernel's share, the
 * code pages it keeps resident) with Deno and grpc-js loaded, once its code
 * is resident on the node. Measured (docs/performance.md): 100 000 models
 * peak at 26–29 MiB in a 32 MiB cgroup with the heap holding up to 16 MiB.
 * A start before the code is resident needs more: COLD_START_BYTES.
 */
export const BESIDES_HEAP_BYTES: number = 13 * MiB;

/**
 * What a start needs when the runtime's code is not yet resident on the node
 * (a pod's first start, or after the page cache was dropped), at 100 000
 * models: 33 MiB cache cold, 36–40 MiB a node's first start (`deno task bench
 * --only limit`, docs/performance.md). Below it such a start may be
 * OOM-killed or thrash; once the code is resident, 32 MiB holds.
 */
export const COLD_START_BYTES: number = 40 * MiB;

/** MiB, one decimal. */
function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

/**
 * What a cycle whose heap peaked at `heapPeakBytes` needs in all, rounded up
 * to whole MiB (0 when the peak is unknown).
 */
export function memoryNeed(heapPeakBytes: number): number {
  if (heapPeakBytes <= 0) return 0;
  return Math.ceil((heapPeakBytes + BESIDES_HEAP_BYTES) / MiB) * MiB;
}

/**
 * The warning for a limit below a cycle's need, or undefined when it fits
 * (or either is unknown).
 */
export function limitAdvice(
  limitBytes: number | undefined,
  heapPeakBytes: number,
): string | undefined {
  const need = memoryNeed(heapPeakBytes);
  if (limitBytes === undefined || need === 0 || need <= limitBytes) {
    return undefined;
  }
  return `the memory limit (${
    mib(limitBytes)
  } MiB) is below what this cluster needs: the last cycle's JavaScript heap held up to ${
    mib(heapPeakBytes)
  } MiB, and the runtime needs about ${
    mib(BESIDES_HEAP_BYTES)
  } MiB besides it, ${
    need / MiB
  } MiB in all; below that the kernel keeps evicting the agent's own code, and it may be killed (OOM). Give the pod at least ${
    need / MiB
  } MiB (docs/performance.md)`;
}

/** Reads the limit and says it (info), or why it is unknown (debug). */
export async function startWithLimit(
  log: LimitLog,
  read: () => Promise<LimitReading> = readMemoryLimit,
): Promise<number | undefined> {
  const reading = await read();
  if (reading.limit) {
    const limit = mib(reading.limit.bytes);
    log.info("memory limit {limit} MiB (from {source})", {
      limit,
      source: reading.limit.source === "runtime"
        ? "the cgroup, read by the runtime"
        : reading.limit.source,
    });
    if (reading.limit.bytes < COLD_START_BYTES) {
      log.warn(
        "the memory limit ({limit} MiB) is below the {cold} MiB a start may need while the runtime's code is not yet resident on the node (a pod's first start): such a start may be killed (OOM) or slowed by re-reading its own code. Give the pod {cold} MiB (docs/performance.md)",
        { limit, cold: COLD_START_BYTES / MiB },
      );
    }
    return reading.limit.bytes;
  }
  if (reading.unknown) {
    log.debug("memory limit unknown: {why}", { why: reading.unknown });
  } else {
    log.debug("no memory limit (no cgroup limit found)");
  }
  return undefined;
}

/**
 * After each cycle: warns when the limit is below the cycle's need, once
 * per process unless a later cycle needs more.
 */
export function limitWatch(
  limitBytes: number | undefined,
  log: LimitLog,
): (heapPeakBytes: number) => void {
  let warnedAt = 0;
  return (heapPeakBytes) => {
    const need = memoryNeed(heapPeakBytes);
    const advice = limitAdvice(limitBytes, heapPeakBytes);
    if (advice === undefined || need <= warnedAt) return;
    warnedAt = need;
    log.warn("{advice}", { advice });
  };
}
