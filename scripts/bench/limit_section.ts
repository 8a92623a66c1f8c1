// The benchmark's "limit" section: the smallest memory limit that holds,
// cold, at 1 000, 10 000 and 100 000 models (memory_limit.ts says how), for
// hodometer on the shared runtime ("cache" cold), from a private pod image
// when asked (`--pod-cold bundle,source`: "pod" cold, pod_image.ts), and for
// a Go agent when a build is given. Where the top scale needs more than the
// stock pod's limit, one run at that limit says what happens there.

import type { ScaleOptions } from "../../tests/fixtures/scheduler_double.ts";
import {
  type CgroupHost,
  memoryCgroups,
} from "../../tests/fixtures/memory_cgroup.ts";
import {
  type Agent,
  atLimit,
  goAgent,
  hodometerAgent,
  podAgent,
  type SmallestLimit,
  smallestLimit,
} from "./memory_limit.ts";
import {
  makePodImage,
  type PodImage,
  podImageUnavailable,
  type PodProgram,
} from "./pod_image.ts";

/** The stock Helm chart's memory limit (MiB). */
export const STOCK_POD_MIB = 32;

/** servers and pipelines a tenth of the models, experiments a hundredth. */
export function limitScale(models: number): ScaleOptions {
  return {
    models,
    servers: models / 10,
    replicas: 3,
    pipelines: models / 10,
    experiments: models / 100,
    modelPadding: 100,
  };
}

export interface LimitOptions {
  quick: boolean;
  reps: number;
  goAgent?: string;
  /** Programs to measure pod cold (none: cache cold only). */
  podCold?: readonly PodProgram[];
  /** The pod image's read-ahead, KiB (default: the kernel's, 128). */
  podReadaheadKiB?: number;
}

export interface LimitFound {
  figures: Record<string, unknown>;
  rows: string[][];
  verdicts: { budget: string; pass: boolean; detail: string }[];
  notes: string[];
}

function cell(found: SmallestLimit): string {
  if (found.limitMiB === undefined) return "none ≤ 96 MiB";
  const at = found.probes.filter((p) =>
    p.held && p.limitMiB === found.limitMiB
  );
  const faults = Math.max(...at.map((p) => p.majorFaults));
  return `${found.limitMiB} MiB (peaks ${
    found.peaksMiB.join(", ")
  }; ${faults} major faults, ${found.baselineFaults} at 96)`;
}

/** The agents to measure: cache cold, then each pod-cold program, then Go. */
async function agentsFor(
  o: LimitOptions,
  dir: string,
  found: LimitFound,
): Promise<{ agents: Agent[]; image?: PodImage }> {
  const agents: Agent[] = [
    hodometerAgent(Deno.execPath(), "hodometer, cache cold"),
  ];
  let image: PodImage | undefined;
  if (o.podCold && o.podCold.length > 0) {
    const why = await podImageUnavailable();
    if (why) {
      found.notes.push(`limit: pod cold not measured: ${why}`);
    } else {
      image = await makePodImage(dir, o.podReadaheadKiB);
      for (const program of o.podCold) agents.push(podAgent(image, program));
    }
  }
  if (o.goAgent) agents.push(goAgent(o.goAgent));
  return { agents, image };
}

/**
 * The verdict at the top scale: PASS when the smallest limit that holds is
 * within the stock pod's; otherwise also what one run at that limit does.
 */
async function stockPodVerdict(
  host: CgroupHost,
  agent: Agent,
  models: number,
  byModels: Record<string, SmallestLimit>,
  progress: (s: string) => void,
): Promise<LimitFound["verdicts"][number]> {
  const budget =
    `${agent.name}: ${models} models in the stock ${STOCK_POD_MIB} MiB pod`;
  const top = byModels[models];
  if (top === undefined) return { budget, pass: false, detail: "not measured" };
  const pass = top.limitMiB !== undefined && top.limitMiB <= STOCK_POD_MIB;
  if (pass) return { budget, pass, detail: cell(top) };
  progress(`${agent.name}, ${models} models, at ${STOCK_POD_MIB} MiB`);
  const p = await atLimit(host, agent, limitScale(models), STOCK_POD_MIB, {
    timeoutMs: 60_000,
    baselineFaults: top.baselineFaults,
  });
  const there = p.problem ??
    `holds (${p.run.majorFaults} major faults, ${
      (p.run.ms / 1000).toFixed(1)
    } s)`;
  return {
    budget,
    pass,
    detail: `${cell(top)}; at ${STOCK_POD_MIB} MiB: ${there}`,
  };
}

/** Measures every agent at every scale; rows for the table, verdicts at 32 MiB. */
export async function limitSection(
  o: LimitOptions,
  progress: (s: string) => void,
): Promise<LimitFound> {
  const host = await memoryCgroups();
  if (typeof host === "string") {
    throw new Error(`no memory cgroups here: ${host}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "hodometer-bench-limit-" });
  let image: PodImage | undefined;
  try {
    const found: LimitFound = {
      figures: {},
      rows: [],
      verdicts: [],
      notes: [],
    };
    const picked = await agentsFor(o, dir, found);
    image = picked.image;
    const agents = picked.agents;
    const models = o.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
    found.rows.push(["smallest limit holding (cold)", ...models.map(String)]);
    for (const agent of agents) {
      const row = [agent.name];
      const byModels: Record<string, SmallestLimit> = {};
      for (const m of models) {
        const r = await smallestLimit(host, agent, limitScale(m), {
          reps: o.reps,
          timeoutMs: m >= 100_000 ? 60_000 : 30_000,
          progress,
        });
        byModels[m] = r;
        row.push(cell(r));
      }
      found.figures[agent.name] = byModels;
      found.rows.push(row);
      found.verdicts.push(
        await stockPodVerdict(host, agent, models.at(-1)!, byModels, progress),
      );
    }
    if (!o.goAgent) {
      found.notes.push(
        "limit: the Go agent not measured: pass --go-agent PATH (a build of Seldon's hodometer/cmd/hodometer)",
      );
    }
    return found;
  } finally {
    await image?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
