// The bench's ingestion section: how the receiver's work grows with hostile
// bodies (tests/fixtures/hostile_inputs.ts), and how long a 1 MB hostile form
// body takes to be answered by the shipped receiver while other requests are
// served.
//
// Growth is measured in this process on decodeEvents (what /track and
// /import run on a body): each family at 128 KiB and at 8 times that, the best
// of a few runs each, after every family has been run once at each size (V8's
// optimizing compiler must have seen them all: one ordering of inputs once made
// an otherwise linear loop quadratic). Linear work gives a ratio near 8;
// quadratic, near 64.

import { decodeEvents } from "../../src/receive/ingest/decode.ts";
import {
  HOSTILE_FAMILIES,
  type HostileFamily,
} from "../../tests/fixtures/hostile_inputs.ts";
import { startReceiverProcess } from "../../tests/fixtures/receiver_process.ts";

/** The smaller size; the larger is GROWTH times it. */
export const SMALL_BYTES = 128 * 1024;
export const GROWTH = 8;
/** Below this, a time says nothing about growth (timer and GC noise). */
const NOISE_MS = 2;

export interface FamilyGrowth {
  name: string;
  smallMs: number;
  largeMs: number;
  /** largeMs / smallMs (each at least NOISE_MS). */
  ratio: number;
}

const decodeOnce = (family: HostileFamily, bytes: number): number => {
  const { body, contentType } = family.make(bytes);
  const start = performance.now();
  decodeEvents({ data: null, body, contentType });
  return performance.now() - start;
};

/** Each family's decoding time at SMALL_BYTES and GROWTH times that. */
export function measureGrowth(reps: number): FamilyGrowth[] {
  const sizes = [SMALL_BYTES, GROWTH * SMALL_BYTES];
  for (const bytes of sizes) {
    for (const family of HOSTILE_FAMILIES) decodeOnce(family, bytes);
  }
  return HOSTILE_FAMILIES.map((family) => {
    const [smallMs, largeMs] = sizes.map((bytes) => {
      let best = Infinity;
      for (let r = 0; r < reps; r++) {
        best = Math.min(best, decodeOnce(family, bytes));
      }
      return best;
    }) as [number, number];
    return {
      name: family.name,
      smallMs,
      largeMs,
      ratio: Math.max(largeMs, NOISE_MS) / Math.max(smallMs, NOISE_MS),
    };
  });
}

export interface HostileBodyTiming {
  family: string;
  /** Time to the answer of the hostile body. */
  answerMs: number;
  status: number;
  /** The slowest /healthz answer while it was handled. */
  slowestOtherMs: number;
  otherRequests: number;
}

/** Requests /healthz again and again until `stop` resolves; the slowest answer. */
async function otherRequests(url: string, stop: Promise<void>) {
  let slowest = 0;
  let count = 0;
  let stopped = false;
  stop.then(() => stopped = true);
  while (!stopped) {
    const start = performance.now();
    const res = await fetch(`${url}/healthz`);
    await res.body?.cancel();
    slowest = Math.max(slowest, performance.now() - start);
    count++;
  }
  return { slowest, count };
}

/**
 * The shipped receiver answers a 1 MB body of each given family (POST /track)
 * while four clients request /healthz; the time to its answer and theirs.
 */
export async function measureHostileBodies(
  families: readonly string[],
): Promise<HostileBodyTiming[]> {
  const receiver = await startReceiverProcess();
  try {
    const out: HostileBodyTiming[] = [];
    for (const name of families) {
      const family = HOSTILE_FAMILIES.find((f) => f.name === name);
      if (family === undefined) throw new Error(`no hostile family ${name}`);
      const { body, contentType } = family.make(1_000_000);
      const done = Promise.withResolvers<void>();
      const others = Array.from(
        { length: 4 },
        () => otherRequests(receiver.url, done.promise),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const start = performance.now();
      const res = await fetch(`${receiver.url}/track`, {
        method: "POST",
        body,
        headers: contentType ? { "content-type": contentType } : {},
      });
      await res.body?.cancel();
      const answerMs = performance.now() - start;
      done.resolve();
      const seen = await Promise.all(others);
      out.push({
        family: name,
        answerMs,
        status: res.status,
        slowestOtherMs: Math.max(...seen.map((s) => s.slowest)),
        otherRequests: seen.reduce((n, s) => n + s.count, 0),
      });
    }
    return out;
  } finally {
    await receiver.stop();
  }
}
