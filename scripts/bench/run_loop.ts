// The run-loop leak check: `hodometer run --interval 1s` on the in-cluster
// path (Kubernetes API double, service-account files) against a scheduler,
// publishing to a sink here that notes the process's RssAnon as each cycle's
// event arrives.

import { withKubeDouble } from "../../tests/fixtures/kube_double.ts";
import { HERMETIC } from "./collector.ts";
import { readMemory } from "./proc.ts";
import { shippedRunArgs } from "../permissions.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

export interface RunLoopResult {
  cycles: number;
  /** RssAnon (kB) when each cycle's event arrived, cycle 1 first. */
  rssAnonKb: number[];
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
}): Promise<RunLoopResult> {
  let result: RunLoopResult | undefined;
  await withKubeDouble(async (kube) => {
    const rss: number[] = [];
    let complete = 0;
    let pid = 0;
    let reached: () => void = () => {};
    const enough = new Promise<void>((resolve) => reached = resolve);
    const sink = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, async (req) => {
      if (rss.length < options.cycles) {
        const m = pid ? await readMemory(pid) : null;
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
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...shippedRunArgs(MAIN, { v8Flags: options.v8Flags }),
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
        complete,
        wallMs: performance.now() - t0,
      };
    } finally {
      clearTimeout(timer);
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
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
