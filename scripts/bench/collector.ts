// `hodometer collect` (and the bare drain client) as measured processes.

import { sampleMemory } from "./proc.ts";
import { shippedRunArgs } from "../permissions.ts";
import { denoCommand } from "../runtime_env.ts";
import type { Program } from "./program.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const DRAIN = new URL("./drain_client.ts", import.meta.url).pathname;

export interface ProcessRun {
  ok: boolean;
  wallMs: number;
  peakVmHwmKb: number;
  peakRssAnonKb: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** V8 flags instead of the shipped ones, comma-separated ("" for none). */
  v8Flags?: string;
  env?: Record<string, string>;
  periodMs?: number;
  /** Another tree's hodometer (the bench's --baseline); this tree's unless given. */
  program?: Program;
}

export const HERMETIC: Record<string, string> = {
  NO_COLOR: "1",
  KUBECONFIG: "",
  KUBERNETES_SERVICE_HOST: "",
  KUBERNETES_SERVICE_PORT: "",
  DO_NOT_TRACK: "",
  METRICS_LEVEL: "",
  LOG_LEVEL: "",
  LOG_FORMAT: "",
};

/** A deno process (`denoArgs` start with `run`), its wall time and memory peaks. */
export async function measureProcess(
  denoArgs: string[],
  options: RunOptions = {},
): Promise<ProcessRun> {
  const t0 = performance.now();
  const child = denoCommand({
    args: denoArgs,
    cwd: options.program?.cwd ?? ROOT,
    env: { ...HERMETIC, ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const sampler = sampleMemory(child.pid, options.periodMs ?? 20);
  const out = await child.output();
  const wallMs = performance.now() - t0;
  const peaks = await sampler.stop();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    ok: out.code === 0,
    wallMs,
    peakVmHwmKb: peaks.peakVmHwmKb,
    peakRssAnonKb: peaks.peakRssAnonKb,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
  };
}

export function runCollect(port: number, options: RunOptions = {}) {
  return measureProcess(
    [
      ...(options.program?.runArgs ??
        shippedRunArgs(MAIN, { v8Flags: options.v8Flags })),
      "collect",
      "--level",
      "feature",
      "--compact",
    ],
    {
      ...options,
      env: {
        SCHEDULER_HOST: "127.0.0.1",
        SCHEDULER_PORT: String(port),
        CLUSTER_ID: "00000000-0000-4000-8000-000000000001",
        ...options.env,
      },
    },
  );
}

export function runDrain(port: number, options: RunOptions = {}) {
  const v8 = options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : [];
  return measureProcess(
    [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      ...v8,
      DRAIN,
      "127.0.0.1",
      String(port),
    ],
    options,
  );
}
