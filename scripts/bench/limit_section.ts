// The benchmark's "limit" section: the smallest memory limit that holds,
// cold, at 1 000, 10 000 and 100 000 models (memory_limit.ts says how), for
// hodometer on the shared runtime ("cache" cold), on a private copy of it
// ("pod" cold), and for a Go agent when a build is given.

import type { ScaleOptions } from "../../tests/fixtures/scheduler_double.ts";
import { memoryCgroups } from "../../tests/fixtures/memory_cgroup.ts";
import {
  type Agent,
  goAgent,
  hodometerAgent,
  privateRuntime,
  type SmallestLimit,
  smallestLimit,
} from "./memory_limit.ts";

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
}

export interface LimitFound {
  figures: Record<string, unknown>;
  rows: string[][];
  verdicts: { budget: string; pass: boolean; detail: string }[];
  notes: string[];
}

function cell(found: SmallestLimit): string {
  if (found.limitMiB === undefined) return "none ≤ 96 MiB";
  return `${found.limitMiB} MiB (peaks ${found.peaksMiB.join(", ")})`;
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
  try {
    const agents: Agent[] = [
      hodometerAgent(Deno.execPath(), "hodometer, cache cold"),
    ];
    if (!o.quick) {
      agents.push(
        hodometerAgent(await privateRuntime(dir), "hodometer, pod cold"),
      );
    }
    if (o.goAgent) agents.push(goAgent(o.goAgent));
    const models = o.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
    const found: LimitFound = {
      figures: {},
      rows: [],
      verdicts: [],
      notes: [],
    };
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
      const top = byModels[models[models.length - 1]!];
      found.verdicts.push({
        budget: `${agent.name}: ${
          models.at(-1)
        } models in the stock ${STOCK_POD_MIB} MiB pod`,
        pass: top?.limitMiB !== undefined && top.limitMiB <= STOCK_POD_MIB,
        detail: top ? cell(top) : "not measured",
      });
    }
    if (!o.goAgent) {
      found.notes.push(
        "limit: the Go agent not measured: pass --go-agent PATH (a build of Seldon's hodometer/cmd/hodometer)",
      );
    }
    return found;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
