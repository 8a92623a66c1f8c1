// The bench's Kubernetes section: `hodometer collect` as shipped against the
// Kubernetes API double answering benign and hostile lists (a 7 MB nodes
// list, an endless nodes answer, every list endless), in-cluster and through
// a kubeconfig, with the small sample scheduler; peak RssAnon of each, and
// the JSON picker's own speed on a 32 MiB list (one pass, linear). What it
// returns is folded into the bench's table, verdicts and BENCH_JSON.

import { runCollect } from "./collector.ts";
import {
  type HostileShape,
  type KubeHarness,
  seldonRuntime,
  withKubeDouble,
} from "../../tests/fixtures/kube_double.ts";
import {
  sampleScenario,
  startSchedulerDouble,
} from "../../tests/fixtures/scheduler_double.ts";
import { JsonPicker } from "../../src/kube/json_pick.ts";
import { COUNTED_ITEM, listPick } from "../../src/kube/picks.ts";
import { listItem } from "../../tests/fixtures/kube_hostile.ts";

/** Hostile answers, by the routes they answer. */
const SHAPES: Record<string, Record<string, HostileShape>> = {
  benign: {},
  "7 MB nodes list": { nodes: { kind: "huge", bytes: 7_000_000 } },
  "endless nodes answer": { nodes: { kind: "endless" } },
  "every list endless": Object.fromEntries(
    ["nodes", "servers", "serverconfigs", "seldonruntimes"].map((r) => [
      r,
      { kind: "endless" } as HostileShape,
    ]),
  ),
};

/** What the section measured: per mode and shape, the peak RssAnon (MiB, max of reps). */
export interface KubeBenchResult {
  peaks: Record<string, Record<string, number>>;
  pickerMiBPerSecond: number;
  rows: string[][];
  verdicts: { budget: string; pass: boolean; detail: string }[];
}

/** Hostile answers may add this much RssAnon to a benign collect (reading streams). */
const EXTRA_MIB = 6;

async function collectAgainst(
  h: KubeHarness,
  mode: "in-cluster" | "kubeconfig",
  v8Flags: string,
): Promise<number> {
  const scheduler = await startSchedulerDouble(sampleScenario());
  try {
    let env: Record<string, string>;
    if (mode === "in-cluster") {
      env = {
        ...h.double.podEnv(),
        KUBERNETES_SERVICEACCOUNT_DIR: h.serviceAccountDir,
        POD_NAMESPACE: h.namespace,
      };
    } else {
      await Deno.writeTextFile(`${h.dir}/kubeconfig`, h.double.kubeconfig());
      env = { KUBECONFIG: `${h.dir}/kubeconfig` };
    }
    const run = await runCollect(scheduler.port, { v8Flags, env, periodMs: 5 });
    if (!/"kubernetes_version"/.test(run.stdout)) {
      throw new Error(
        `collect (${mode}) published no Kubernetes metrics: ${
          run.stderr.slice(-800)
        }`,
      );
    }
    return run.peakRssAnonKb / 1024;
  } finally {
    await scheduler.close();
  }
}

async function peakOf(
  mode: "in-cluster" | "kubeconfig",
  routes: Record<string, HostileShape>,
  reps: number,
  v8Flags: string,
): Promise<number> {
  let peak = 0;
  await withKubeDouble(async (h) => {
    h.double.nodeNames = ["n1", "n2", "n3"];
    h.double.seldonRuntimes = [seldonRuntime("a"), seldonRuntime("b")];
    for (const [route, shape] of Object.entries(routes)) {
      h.double.hostile.set(route, shape);
    }
    for (let i = 0; i < reps; i++) {
      peak = Math.max(peak, await collectAgainst(h, mode, v8Flags));
    }
  });
  return Math.round(peak * 10) / 10;
}

/** MiB/s of the picker counting the items of a 32 MiB nodes list in memory. */
function pickerSpeed(): number {
  const item = new TextEncoder().encode(listItem(0, 1024) + ",");
  const chunk = new Uint8Array(64 * 1024 - (64 * 1024) % item.length);
  for (let at = 0; at < chunk.length; at += item.length) chunk.set(item, at);
  const picker = new JsonPicker({ pick: listPick(COUNTED_ITEM) });
  const head = new TextEncoder().encode('{"items":[');
  picker.push(head);
  const total = 32 * 1024 * 1024;
  const t0 = performance.now();
  for (let read = 0; read < total; read += chunk.length) picker.push(chunk);
  const seconds = (performance.now() - t0) / 1000;
  return Math.round(total / 1024 / 1024 / seconds);
}

/** Runs the section: `reps` collects per mode and shape. */
export async function kubeHostileBench(
  reps: number,
  v8Flags: string,
  progress: (text: string) => void,
): Promise<KubeBenchResult> {
  const result: KubeBenchResult = {
    peaks: {},
    pickerMiBPerSecond: pickerSpeed(),
    rows: [],
    verdicts: [],
  };
  for (const mode of ["in-cluster", "kubeconfig"] as const) {
    const peaks: Record<string, number> = {};
    for (const [name, routes] of Object.entries(SHAPES)) {
      progress(`kubernetes, ${mode}, ${name}`);
      peaks[name] = await peakOf(mode, routes, reps, v8Flags);
    }
    result.peaks[mode] = peaks;
    const benign = peaks.benign ?? NaN;
    const worst = Math.max(...Object.values(peaks));
    result.rows.push([
      `collect, Kubernetes ${mode}`,
      Object.entries(peaks).map(([n, p]) => `${n} ${p}`).join(", "),
      `peak RssAnon MiB (max of ${reps})`,
    ]);
    result.verdicts.push({
      budget:
        `hostile Kubernetes answers add ≤ ${EXTRA_MIB} MiB RssAnon (${mode})`,
      pass: worst - benign <= EXTRA_MIB,
      detail: `${worst} vs ${benign} MiB benign`,
    });
  }
  result.rows.push([
    "  JSON picker alone",
    `${result.pickerMiBPerSecond} MiB/s counting a 32 MiB nodes list`,
    "",
  ]);
  return result;
}
