// `hodometer run --interval 1s` as shipped, on the in-cluster path
// (Kubernetes API double, service-account files) against a scheduler,
// publishing to a sink here. Per cycle it notes the process's RssAnon when the
// cycle's event arrives, the peak RssAnon during the cycle, and the cycle's
// working set: the pages (anonymous and file-backed) referenced from the end
// of the previous cycle to this cycle's event, measured by clearing the
// referenced bits (/proc/<pid>/clear_refs) as each event arrives.

import { withKubeDouble } from "../../tests/fixtures/kube_double.ts";
import { HERMETIC } from "./collector.ts";
import {
  clearReferenced,
  readMemory,
  readReferenced,
  sampleMemory,
} from "./proc.ts";
import { shippedRunArgs } from "../permissions.ts";
import { denoCommand } from "../runtime_env.ts";
import type { Program } from "./program.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

export interface RunLoopResult {
  cycles: number;
  /** RssAnon (kB) when each cycle's event arrived, cycle 1 first. */
  rssAnonKb: number[];
  /** Highest RssAnon (kB) sampled during each cycle (every 10 ms). */
  peakRssAnonKb: number[];
  /**
   * Pages referenced during each cycle (kB, anonymous and file-backed);
   * NaN for cycle 1, which includes start-up, and where /proc refuses.
   */
  workingSetKb: number[];
  /** Cycles whose event had the expected model_count. */
  complete: number;
  wallMs: number;
}

export async function runLoopCheck(options: {
  schedulerPort: number;
  cycles: number;
  expectedModels: number;
  v8Flags?: string;
  timeoutMs: number;
  /** false: no Kubernetes API at all (to tell a leak's source apart). */
  inCluster?: boolean;
  extraEnv?: Record<string, string>;
  /** Another tree's hodometer (the bench's --baseline); this tree's unless given. */
  program?: Program;
}): Promise<RunLoopResult> {
  let result: RunLoopResult | undefined;
  await withKubeDouble(async (kube) => {
    const rss: number[] = [];
    const peaks: number[] = [];
    const workingSets: number[] = [];
    let complete = 0;
    let pid = 0;
    let peakSinceLast = 0;
    let reached: () => void = () => {};
    const enough = new Promise<void>((resolve) => reached = resolve);
    const sink = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, async (req) => {
      if (rss.length < options.cycles) {
        const m = pid ? await readMemory(pid) : null;
        const referenced = pid ? await readReferenced(pid) : null;
        if (pid) await clearReferenced(pid);
        peaks.push(Math.max(peakSinceLast, m?.rssAnonKb ?? 0));
        peakSinceLast = 0;
        workingSets.push(
          rss.length === 0 || referenced === null ? NaN : referenced,
        );
        rss.push(m?.rssAnonKb ?? NaN);
        if (modelCount(new URL(req.url)) === options.expectedModels) {
          complete++;
        }
        if (rss.length === options.cycles) reached();
      }
      return new Response('{"status":1,"error":""}', {
        headers: { "content-type": "application/json" },
      });
    });
    const stateDir = `${kube.dir}/state`;
    await Deno.mkdir(stateDir);
    const t0 = performance.now();
    const child = denoCommand({
      cwd: options.program?.cwd,
      args: [
        ...(options.program?.runArgs ??
          shippedRunArgs(MAIN, { v8Flags: options.v8Flags })),
        "run",
        "--interval",
        "1s",
        "--level",
        "feature",
        "--scheduler-host",
        "127.0.0.1",
        "--scheduler-port",
        String(options.schedulerPort),
        "--publish-url",
        `http://127.0.0.1:${sink.addr.port}/track`,
        "--state-dir",
        stateDir,
      ],
      env: {
        ...HERMETIC,
        ...(options.inCluster === false ? {} : {
          ...kube.double.podEnv(),
          KUBERNETES_SERVICEACCOUNT_DIR: kube.serviceAccountDir,
        }),
        LOG_LEVEL: "warning",
        ...options.extraEnv,
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    pid = child.pid;
    const sampler = sampleMemory(pid, 10, (s) => {
      peakSinceLast = Math.max(peakSinceLast, s.rssAnonKb);
    });
    const stderr = new Response(child.stderr).text();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const outcome = await Promise.race([
        enough.then(() => "done" as const),
        child.status.then(() => "exited" as const),
        new Promise<"timeout">((resolve) =>
          timer = setTimeout(() => resolve("timeout"), options.timeoutMs)
        ),
      ]);
      if (outcome !== "done") {
        throw new Error(
          `hodometer run: ${
            outcome === "exited" ? "exited" : "timed out"
          } after ${rss.length} of ${options.cycles} cycles; stderr:\n${
            (await Promise.race([stderr, Promise.resolve("")])).slice(-2000)
          }`,
        );
      }
      result = {
        cycles: rss.length,
        rssAnonKb: rss,
        peakRssAnonKb: peaks,
        workingSetKb: workingSets,
        complete,
        wallMs: performance.now() - t0,
      };
    } finally {
      clearTimeout(timer);
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await sampler.stop();
      await stderr;
      await sink.shutdown();
    }
  });
  if (!result) throw new Error("run loop check did not finish");
  return result;
}

function modelCount(url: URL): number | undefined {
  const data = url.searchParams.get("data");
  if (data === null) return undefined;
  try {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const event = JSON.parse(new TextDecoder().decode(bytes));
    return event?.properties?.model_count;
  } catch {
    return undefined;
  }
}
