// The read side at fleet scale: `hodometer receive` as shipped (all, on
// SQLite) holding `clusters` clusters sent in one event a request, its reads
// on an unchanged store under wrk (`-t1 -c4`: requests/s, latency, what an
// answer weighs), then the fault suite's loads (250 page readers, 250
// /metrics readers, HTTP/2 5 × 200 unread streams): for each, the slowest
// /healthz answer meanwhile and the receiver's peak resident set.

import { startReceiverProcess } from "../../tests/fixtures/receiver_process.ts";
import {
  readLoads,
  resetPeak,
  sendFleet,
  watchHealth,
} from "../../tests/fixtures/read_load.ts";
import { type LoadResult, runWrk } from "./load.ts";
import { readMemory } from "./proc.ts";

/** One read measured with wrk. */
export interface ReadRun {
  path: string;
  acceptEncoding: string | null;
  load: LoadResult;
  /** Bytes of one answer on the wire. */
  answerBytes: number;
  slowestHealthMs: number;
}

/** One of the fault suite's loads. */
export interface ReadLoadRun {
  name: string;
  answers: Record<string, number>;
  /** The receiver's peak resident set during the load (kB); since start when it cannot be reset. */
  vmHwmKb: number | null;
  slowestHealthMs: number;
  healthFailures: number;
}

export interface ReadFigures {
  clusters: number;
  seedMs: number;
  runs: ReadRun[];
  loads: ReadLoadRun[];
}

const PAGE = "/?window=all&per=200";
const WRK_READS: Array<[string, string | null]> = [
  ["/", null],
  [PAGE, null],
  ["/metrics", null],
  ["/metrics", "gzip"],
];

/** Bytes of one answer to `path` on the wire. */
async function answerBytes(url: string, accept: string | null) {
  const res = await fetch(url, {
    headers: { "accept-encoding": accept ?? "identity" },
  });
  const length = Number(res.headers.get("content-length") ?? NaN);
  await res.body?.cancel();
  return length;
}

async function wrkReads(url: string, seconds: number): Promise<ReadRun[]> {
  const runs: ReadRun[] = [];
  for (const [path, accept] of WRK_READS) {
    await (await fetch(url + path)).body?.cancel(); // rendered once first
    const health = watchHealth(url, 50);
    const load = await runWrk(url + path, {
      seconds,
      connections: 4,
      threads: 1,
      headers: accept ? [`Accept-Encoding: ${accept}`] : [],
    });
    const watched = await health.stop();
    runs.push({
      path,
      acceptEncoding: accept,
      load,
      answerBytes: await answerBytes(url + path, accept),
      slowestHealthMs: watched.slowestMs,
    });
  }
  return runs;
}

async function loadRuns(
  url: string,
  port: number,
  pid: number,
  ms: number,
): Promise<ReadLoadRun[]> {
  const out: ReadLoadRun[] = [];
  for (const load of readLoads(ms)) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await resetPeak(pid);
    const health = watchHealth(url, 50);
    const outcome = await load.run(url, port);
    const watched = await health.stop();
    out.push({
      name: load.name,
      answers: outcome.answers,
      vmHwmKb: (await readMemory(pid))?.vmHwmKb ?? null,
      slowestHealthMs: watched.slowestMs,
      healthFailures: watched.failed.length,
    });
  }
  return out;
}

/** Sends a fleet in, then measures its reads and the loads. */
export async function measureReads(
  clusters: number,
  seconds: number,
): Promise<ReadFigures> {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-bench-reads-" });
  const receiver = await startReceiverProcess({
    args: ["--record-level", "all", "--store", `${dir}/events.db`],
  });
  try {
    const started = performance.now();
    await sendFleet(receiver.url, clusters);
    const seedMs = performance.now() - started;
    const runs = await wrkReads(receiver.url, seconds);
    const loads = await loadRuns(
      receiver.url,
      receiver.port,
      receiver.pid,
      seconds * 1000,
    );
    return { clusters, seedMs, runs, loads };
  } finally {
    await receiver.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
