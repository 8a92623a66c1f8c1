// Load with wrk (Debian package `wrk`): the same request again and again
// (report.lua only prints a JSON summary at the end).

import { cpuTimeMs } from "./proc.ts";

const REPORT_LUA = new URL("./report.lua", import.meta.url).pathname;

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  /** Responses wrk did not count as errors (status < 400). */
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export async function wrkAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("wrk", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    // wrk --version prints its usage and exits 1.
    return out.code === 0 || out.code === 1;
  } catch {
    return false;
  }
}

export async function runWrk(
  url: string,
  options: {
    seconds: number;
    connections: number;
    threads?: number;
    /** Request headers, as `Name: value`. */
    headers?: string[];
  },
): Promise<LoadResult> {
  const out = await new Deno.Command("wrk", {
    args: [
      `-t${options.threads ?? 1}`,
      `-c${options.connections}`,
      `-d${options.seconds}s`,
      ...(options.headers ?? []).flatMap((h) => ["-H", h]),
      "--latency",
      "-s",
      REPORT_LUA,
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!out.success || line === undefined) {
    throw new Error(
      `wrk failed (exit ${out.code}): ${
        new TextDecoder().decode(out.stderr) || text
      }`,
    );
  }
  const j = JSON.parse(line.slice("WRK_JSON ".length));
  const errors = j.non2xx3xx + j.connectErrors + j.readErrors +
    j.writeErrors + j.timeouts;
  return {
    requests: j.requests,
    requestsPerSecond: j.requests / (j.durationUs / 1e6),
    ok: j.requests - j.non2xx3xx,
    errors,
    p50Ms: j.p50Us / 1000,
    p99Ms: j.p99Us / 1000,
  };
}

/** One round of load on a target: what wrk saw, and what it cost the target. */
export interface Round {
  /** What wrk measured. */
  load: LoadResult;
  /** CPU time the target spent per request of the round (µs). */
  cpuUsPerRequest: number;
}

/** One round of wrk on `url`, with the CPU time process `pid` spent on it. */
export async function measuredRound(
  url: string,
  pid: number,
  load: { seconds: number; connections: number; threads: number },
): Promise<Round> {
  const before = await cpuTimeMs(pid);
  const result = await runWrk(url, load);
  const after = await cpuTimeMs(pid);
  if (before === null || after === null) {
    throw new Error(`process ${pid} is gone`);
  }
  return {
    load: result,
    cpuUsPerRequest: (after - before) * 1000 / Math.max(1, result.requests),
  };
}
