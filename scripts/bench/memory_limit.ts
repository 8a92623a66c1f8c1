// The smallest memory limit that holds: `hodometer run --once` as shipped,
// inside a real memory cgroup started cold, against the scheduler double, at
// a scale; a limit holds when every one of `reps` runs exits 0, delivers an
// event with the expected counts, nothing is OOM-killed, and the run does
// not thrash: its major page faults stay within THRASH of those at the
// search's high bound (a limit that holds the program only by evicting its
// own code and reading it again can take 3–10 times as long and read
// gigabytes from disk, yet exit 0). Searched by bisection between 16 and 96
// MiB.
//
// Two kinds of cold:
// - "cache": the page cache is dropped, and the agent runs on the same Deno
//   executable as the benchmark and the scheduler double, whose code pages
//   those processes keep resident outside the cgroup (as on a node where the
//   image's executable is already in use);
// - "pod": the agent runs from a private pod image (pod_image.ts) on a copy
//   of the executable that nothing else maps, so every page of the runtime's
//   code it touches is charged to its cgroup, as in a pod started on a node
//   that has not run it before.

import { shippedRunArgs } from "../permissions.ts";
import { startDoubleProcess } from "./double.ts";
import {
  type CgroupHost,
  type CgroupRun,
  held,
  runInCgroup,
} from "../../tests/fixtures/memory_cgroup.ts";
import {
  scaledCounts,
  type ScaleOptions,
} from "../../tests/fixtures/scheduler_double.ts";
import { startTrackSink } from "../../tests/fixtures/track_sink.ts";
import { bundleRunArgs, type PodImage, type PodProgram } from "./pod_image.ts";
import { MiB } from "../../src/runtime/units.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Search bounds (MiB): below the low one nothing holds, the high one always does. */
export const SEARCH_MIB = { low: 16, high: 96 } as const;

/**
 * A run thrashes when its major faults exceed `factor` times those of the
 * run at the high bound, plus `slack` (a few hundred faults are a cold
 * start's own reading).
 */
export const THRASH = { factor: 4, slack: 1000 } as const;

/** True when `faults` is thrashing against the unconstrained `baseline`. */
export function thrashes(faults: number, baseline: number): boolean {
  return faults > THRASH.factor * baseline + THRASH.slack;
}

export type Cold = "cache" | "pod";

/** An agent to measure: hodometer as shipped on some runtime, or a Go build. */
export interface Agent {
  name: string;
  cmd: string;
  args: string[];
  /** The Go agent never ends by itself: it is stopped once it has published. */
  daemon: boolean;
  /** Variables of its own (beside agentEnv's). */
  env?: Record<string, string>;
  /** Makes its files cold before each run; without it, the page cache is dropped. */
  prepare?: () => Promise<void>;
}

/** hodometer as shipped, on `runtime` (the running Deno, or a private copy of it). */
export function hodometerAgent(runtime: string, name: string): Agent {
  return {
    name,
    cmd: runtime,
    args: [...shippedRunArgs(`${ROOT}main.ts`), "run", "--once"],
    daemon: false,
  };
}

/** A build of Seldon's Go hodometer (hodometer/cmd/hodometer). */
export function goAgent(path: string): Agent {
  return { name: "Go agent", cmd: path, args: [], daemon: true };
}

/**
 * hodometer as shipped from a pod image: the bundle (a proxy for the compiled
 * binary) or main.ts from source, on the image's private runtime.
 */
export function podAgent(image: PodImage, program: PodProgram): Agent {
  const name =
    `hodometer, pod cold (${program}, read-ahead ${image.readaheadKiB} KiB)`;
  const prepare = () => image.makeCold();
  if (program === "source") {
    return { ...hodometerAgent(image.runtime, name), prepare };
  }
  return {
    name,
    cmd: image.runtime,
    args: [...bundleRunArgs(image), "run", "--once"],
    daemon: false,
    env: { DENO_DIR: image.denoDir },
    prepare,
  };
}

/** One probe: the run, and what was wrong with it (undefined: it held). */
export interface Probe {
  limitMiB: number;
  run: CgroupRun;
  problem?: string;
}

function agentEnv(port: number, sinkUrl: string): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_DIR: Deno.env.get("DENO_DIR") ??
      `${Deno.env.get("HOME")}/.cache/deno`,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    HOME: "/nonexistent",
    STATE_DIR: Deno.makeTempDirSync({ prefix: "hodometer-bench-state-" }),
    SCHEDULER_HOST: "127.0.0.1",
    SCHEDULER_PLAINTXT_PORT: String(port),
    PUBLISH_URL: sinkUrl,
    // The Go agent's names for the same.
    SCHEDULER_PORT: String(port),
    LOG_LEVEL: "info",
  };
}

function eventProblem(
  event: Record<string, unknown> | undefined,
  scale: ScaleOptions,
): string | undefined {
  if (event === undefined) return "no event published";
  const want = scaledCounts(scale);
  for (
    const key of ["model_count", "pipeline_count", "server_count"] as const
  ) {
    if (event[key] !== want[key]) {
      return `${key} ${event[key]}, expected ${want[key]}`;
    }
  }
  return undefined;
}

/**
 * Runs the agent once at a limit, cold, against a fresh scheduler double;
 * `baselineFaults` (the high bound's major faults) tells thrashing.
 */
export async function probe(
  host: CgroupHost,
  agent: Agent,
  scale: ScaleOptions,
  limitMiB: number,
  timeoutMs: number,
  baselineFaults?: number,
): Promise<Probe> {
  const scheduler = await startDoubleProcess(scale, { batched: false });
  const sink = startTrackSink();
  let watch: ReturnType<typeof setInterval> | undefined;
  try {
    const published = new Promise<void>((resolve) => {
      watch = setInterval(() => {
        if (sink.requests.length > 0) resolve();
      }, 50);
    });
    const run = await runInCgroup(host, {
      limitBytes: limitMiB * MiB,
      cmd: agent.cmd,
      args: agent.args,
      env: { ...agentEnv(scheduler.port, sink.url), ...agent.env },
      cold: agent.prepare === undefined,
      prepare: agent.prepare,
      timeoutMs,
      stopWhen: agent.daemon ? published : undefined,
    });
    const props = sink.requests[0]?.event?.properties;
    const problem = !held(run)
      ? describe(run)
      : eventProblem(props, scale) ?? thrashProblem(run, baselineFaults);
    return { limitMiB, run, problem };
  } finally {
    clearInterval(watch);
    await sink.close();
    await scheduler.stop();
  }
}

function thrashProblem(
  run: CgroupRun,
  baseline: number | undefined,
): string | undefined {
  if (baseline === undefined || !thrashes(run.majorFaults, baseline)) {
    return undefined;
  }
  return `thrashed: ${run.majorFaults} major faults (${baseline} at ${SEARCH_MIB.high} MiB), ${
    (run.ms / 1000).toFixed(1)
  } s`;
}

/** Why a run did not hold, in a few words. */
export function describe(run: CgroupRun): string {
  if (run.oomKills > 0) return `OOM-killed (${run.oomKills})`;
  if (run.timedOut) return `still running after ${Math.round(run.ms / 1000)} s`;
  if (run.signal) return `ended by ${run.signal}`;
  return `exit ${run.code}: ${run.stderr.trim().split("\n").at(-1) ?? ""}`;
}

/** What the search found at one scale. */
export interface SmallestLimit {
  /** The smallest limit (MiB) at which every run held; undefined if none up to the high bound. */
  limitMiB?: number;
  /** The cgroup peaks (MiB) of the runs at that limit. */
  peaksMiB: number[];
  /** Every probe, for the JSON line: limit, held or why not, peak, limit hits. */
  probes: {
    limitMiB: number;
    held: boolean;
    why?: string;
    peakMiB: number;
    limitHits: number;
    majorFaults: number;
    ms: number;
  }[];
  /** Major faults of the first run at the high bound: the unconstrained count. */
  baselineFaults?: number;
}

/**
 * Bisection for the smallest limit at which `reps` runs in a row hold
 * (a limit is taken to hold for larger limits too).
 */
export async function smallestLimit(
  host: CgroupHost,
  agent: Agent,
  scale: ScaleOptions,
  options: { reps: number; timeoutMs: number; progress: (s: string) => void },
): Promise<SmallestLimit> {
  const found: SmallestLimit = { peaksMiB: [], probes: [] };
  const holdsAt = async (limitMiB: number): Promise<number[] | undefined> => {
    const peaks: number[] = [];
    for (let i = 0; i < options.reps; i++) {
      options.progress(
        `${agent.name}, ${scale.models} models, ${limitMiB} MiB, run ${i + 1}`,
      );
      const p = await probe(
        host,
        agent,
        scale,
        limitMiB,
        options.timeoutMs,
        found.baselineFaults,
      );
      found.baselineFaults ??= p.run.majorFaults;
      const peakMiB = Math.round(p.run.peakBytes / MiB * 10) / 10;
      found.probes.push({
        limitMiB,
        held: p.problem === undefined,
        ...(p.problem ? { why: p.problem } : {}),
        peakMiB,
        limitHits: p.run.limitHits,
        majorFaults: p.run.majorFaults,
        ms: Math.round(p.run.ms),
      });
      if (p.problem !== undefined) return undefined;
      peaks.push(peakMiB);
    }
    return peaks;
  };
  let low: number = SEARCH_MIB.low; // does not hold (assumed)
  let high: number = SEARCH_MIB.high;
  let best = await holdsAt(high);
  if (best === undefined) return found;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    const peaks = await holdsAt(mid);
    if (peaks) {
      high = mid;
      best = peaks;
    } else {
      low = mid;
    }
  }
  return { ...found, limitMiB: high, peaksMiB: best };
}

/** One run at exactly `limitMiB` (the stock pod's), as the search would judge it. */
export async function atLimit(
  host: CgroupHost,
  agent: Agent,
  scale: ScaleOptions,
  limitMiB: number,
  options: { timeoutMs: number; baselineFaults?: number },
): Promise<Probe> {
  return await probe(
    host,
    agent,
    scale,
    limitMiB,
    options.timeoutMs,
    options.baselineFaults,
  );
}
