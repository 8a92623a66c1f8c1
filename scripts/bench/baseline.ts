// `deno task bench --baseline <git-ref>`: this tree against another commit,
// in the same run of the bench, for a change that must keep the figures
// (issue 23: "unchanged or better within 5 %").
//
// The other commit is checked out in a temporary `git worktree` and run as
// that tree ships (its own permissions and V8 flags, from its own directory).
// Both trees are measured in alternating rounds (the order flips every round,
// so neither always follows the other on a shared machine):
//
//   - the receiver's throughput: `wrk -t1 -c16` on the reference request, at
//     record levels summary and all (SQLite), with a bare Deno.serve as the
//     yardstick, and the CPU time per request;
//   - the receiver's memory under that load: peak VmHWM and RssAnon;
//   - the fleet page: 1 000 clusters × 30 days on SQLite, the time to the last
//     byte of GET / and the receiver's RssAnon after;
//   - `hodometer collect`: wall time and peak RssAnon/VmHWM at 1 000 and
//     100 000 models;
//   - `hodometer run`: peak RssAnon over its cycles.
//
// Each figure is printed for both trees with the ratio head/base, and
// judged: no worse than 5 % (a rate at least 0.95 ×, a time or a size at
// most 1.05 ×).

import {
  scaledCounts,
  type ScaleOptions,
} from "../../tests/fixtures/scheduler_double.ts";
import { startReceiverProcess } from "../../tests/fixtures/receiver_process.ts";
import { REFERENCE_DATA } from "../../tests/receive_sample.ts";
import { startBare } from "./bare.ts";
import { runCollect } from "./collector.ts";
import { startDoubleProcess } from "./double.ts";
import { measuredRound, type Round, wrkAvailable } from "./load.ts";
import { seedStore, timePage } from "./page.ts";
import {
  cpuTimeMs,
  type MemoryPeaks,
  readMemory,
  sampleMemory,
} from "./proc.ts";
import { type Program, programAt, thisProgram } from "./program.ts";
import { runLoopCheck } from "./run_loop.ts";
import { LARGE, SMALL } from "./scales.ts";
import { median, mib, round } from "./stats.ts";

/** What the comparison is asked for. */
export interface BaselineOptions {
  /** The commit to compare with (any git ref). */
  ref: string;
  quick: boolean;
  reps: number;
  /** The benchmark's batched scheduler (else the grpc-js double). */
  batched: boolean;
  /** The comparisons to make (receiver, page, collector, run); all unless given. */
  parts?: ReadonlySet<string>;
}

/** One figure of both trees. */
export interface Compared {
  /** What is measured, and of what. */
  figure: string;
  /** Its unit, as printed. */
  unit: string;
  /** Which way is better. */
  better: "higher" | "lower";
  /** The base tree's figure. */
  base: number;
  /** This tree's figure. */
  head: number;
}

/** What the comparison found, for the bench's table. */
export interface BaselineFound {
  figures: Record<string, unknown>;
  rows: string[][];
  verdicts: { budget: string; pass: boolean; detail: string }[];
  notes: string[];
}

/** A figure of both trees. */
function compared(
  figure: string,
  unit: string,
  better: Compared["better"],
  base: number,
  head: number,
): Compared {
  return { figure, unit, better, base, head };
}

/** The most a figure may be worse by and still count as unchanged. */
export const TOLERANCE = 0.05;

/** head/base, and whether it is unchanged or better within TOLERANCE. */
export function judge(c: Compared): { ratio: number; pass: boolean } {
  const ratio = c.head / c.base;
  const pass = c.better === "higher"
    ? ratio >= 1 - TOLERANCE
    : ratio <= 1 + TOLERANCE;
  return { ratio, pass: Number.isFinite(ratio) && pass };
}

const REFERENCE_PATH = `/track?data=${REFERENCE_DATA}&verbose=1`;

/** The pair in this round's order: base first in even rounds, head first in odd. */
const inTurn = <T>(round: number, base: T, head: T): [T, T] =>
  round % 2 === 0 ? [base, head] : [head, base];

// ------------------------------------------------------------ the worktree

async function git(args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${text.decode(out.stderr)}`);
  }
  return text.decode(out.stdout).trim();
}

/** The tree of `ref` in a temporary worktree, and how to remove it. */
export async function baselineTree(
  ref: string,
): Promise<{ commit: string; root: string; remove(): Promise<void> }> {
  const commit = await git(["rev-parse", "--verify", `${ref}^{commit}`]);
  const root = await Deno.makeTempDir({ prefix: "hodometer-bench-baseline-" });
  await git(["worktree", "add", "--detach", "--force", root, commit]);
  return {
    commit,
    root,
    remove: async () => {
      await git(["worktree", "remove", "--force", root]).catch(() => {});
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await git(["worktree", "prune"]).catch(() => {});
    },
  };
}

// ------------------------------------------------------------ receiver

interface Target {
  name: string;
  url: string;
  pid: number;
}

/** Receivers of both trees at a record level, and their memory sampled. */
async function startReceivers(
  programs: [Program, Program],
  args: string[],
  dir: string,
) {
  return await Promise.all(programs.map(async (program) => {
    const store = `${dir}/${program.label.replace(/\W/g, "_")}`;
    const receiver = await startReceiverProcess({
      program,
      args: args.map((a) => a.replace("<store>", `${store}.db`)),
    });
    return { program, receiver, memory: sampleMemory(receiver.pid, 50) };
  }));
}

/** Each target's rounds, and its RssAnon (kB) after each of them. */
interface Runs {
  rounds: Map<string, Round[]>;
  rssAnonKb: Map<string, number[]>;
}

/** Rounds of wrk on every target, both trees' in turns. */
async function loadRounds(
  targets: { bare: Target; pairs: [Target, Target][] },
  rounds: number,
  seconds: number,
  progress: (s: string) => void,
): Promise<Runs> {
  const load = { seconds, connections: 16, threads: 1 };
  const out: Runs = { rounds: new Map(), rssAnonKb: new Map() };
  const add = <T>(map: Map<string, T[]>, t: Target, x: T) =>
    map.set(t.name, [...map.get(t.name) ?? [], x]);
  for (const t of [targets.bare, ...targets.pairs.flat()]) {
    const first = await fetch(t.url + REFERENCE_PATH);
    await first.body?.cancel();
    if (first.status !== 200) throw new Error(`${t.name}: ${first.status}`);
  }
  for (let r = 0; r < rounds; r++) {
    progress(`baseline: receiver round ${r + 1}/${rounds}`);
    const order = [
      targets.bare,
      ...targets.pairs.flatMap(([b, h]) => inTurn(r, b, h)),
    ];
    for (const t of order) {
      add(
        out.rounds,
        t,
        await measuredRound(t.url + REFERENCE_PATH, t.pid, load),
      );
      add(out.rssAnonKb, t, (await readMemory(t.pid))?.rssAnonKb ?? NaN);
    }
  }
  return out;
}

/** The throughput figures of one record level, base against head. */
function throughputFigures(
  level: string,
  runs: Map<string, Round[]>,
  names: [string, string],
): Compared[] {
  const bare = runs.get("bare") ?? [];
  const of = (name: string) => runs.get(name) ?? [];
  const rps = (name: string) =>
    median(of(name).map((r) => r.load.requestsPerSecond));
  const toBare = (name: string) =>
    median(
      of(name).map((r, k) =>
        r.load.requestsPerSecond / (bare[k]?.load.requestsPerSecond ?? NaN)
      ),
    );
  const cpu = (name: string) => median(of(name).map((r) => r.cpuUsPerRequest));
  const [base, head] = names;
  return [
    compared(
      `receiver ${level}: requests/s`,
      "req/s",
      "higher",
      rps(base),
      rps(head),
    ),
    compared(
      `receiver ${level}: × bare Deno.serve`,
      "×",
      "higher",
      toBare(base),
      toBare(head),
    ),
    compared(
      `receiver ${level}: CPU per request`,
      "µs",
      "lower",
      cpu(base),
      cpu(head),
    ),
  ];
}

/** Peak VmHWM and RssAnon of both receivers of a level over the rounds, and their RssAnon after a round. */
function memoryFigures(
  level: string,
  peaks: [MemoryPeaks, MemoryPeaks],
  after: [number[], number[]],
): Compared[] {
  const [base, head] = peaks;
  return [
    compared(
      `receiver ${level} under load: RssAnon after a round (median)`,
      "MiB",
      "lower",
      mib(median(after[0])),
      mib(median(after[1])),
    ),
    compared(
      `receiver ${level} under load: peak VmHWM`,
      "MiB",
      "lower",
      mib(base.peakVmHwmKb),
      mib(head.peakVmHwmKb),
    ),
    compared(
      `receiver ${level} under load: peak RssAnon`,
      "MiB",
      "lower",
      mib(base.peakRssAnonKb),
      mib(head.peakRssAnonKb),
    ),
  ];
}

/** The receivers of both trees at summary and all under the same rounds of load. */
async function receiverComparison(
  programs: [Program, Program],
  o: BaselineOptions,
  progress: (s: string) => void,
): Promise<Compared[]> {
  const dir = await Deno.makeTempDir({
    prefix: "hodometer-bench-baseline-store-",
  });
  const bare = await startBare();
  const levels = [
    { level: "summary", args: ["--record-level", "summary"] },
    { level: "all", args: ["--record-level", "all", "--store", "<store>"] },
  ];
  const started: Awaited<ReturnType<typeof startReceivers>>[] = [];
  try {
    for (const l of levels) {
      started.push(await startReceivers(programs, l.args, `${dir}/${l.level}`));
    }
    const pairs = started.map((pair, i) =>
      pair.map(({ program, receiver }) => ({
        name: `${levels[i]!.level} ${program.label}`,
        url: receiver.url,
        pid: receiver.pid,
      })) as [Target, Target]
    );
    const rounds = o.quick ? 3 : Math.max(7, o.reps * 2 + 1);
    const runs = await loadRounds(
      { bare: { name: "bare", ...bare }, pairs },
      rounds,
      o.quick ? 2 : 3,
      progress,
    );
    const out: Compared[] = [];
    for (const [i, pair] of started.entries()) {
      const names = pairs[i]!.map((t) => t.name) as [string, string];
      out.push(...throughputFigures(levels[i]!.level, runs.rounds, names));
      const peaks = await Promise.all(pair.map((p) => p.memory.stop()));
      const after = names.map((n) => runs.rssAnonKb.get(n) ?? []);
      out.push(
        ...memoryFigures(
          levels[i]!.level,
          peaks as [MemoryPeaks, MemoryPeaks],
          after as [number[], number[]],
        ),
      );
    }
    return out;
  } finally {
    await bare.stop();
    for (const pair of started) {
      await Promise.all(pair.map(async (p) => {
        await p.memory.stop();
        await p.receiver.stop();
      }));
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

// ------------------------------------------------------------ page

/**
 * The overview's path with the same view under a key of its own: the n-th
 * spelling of page=1&per=50 (zeros in front, the default sort and order said
 * or not), so that a receiver renders it anew instead of answering from the
 * render it shares (256 spellings).
 */
export function freshOverview(n: number): string {
  const zeros = (k: number) => "0".repeat(k % 8);
  const said = [
    "",
    "&sort=last_seen",
    "&order=desc",
    "&order=desc&sort=last_seen",
  ];
  return `/?page=${zeros(n)}1&per=${zeros(Math.floor(n / 8))}50${
    said[Math.floor(n / 64) % 4]
  }`;
}

/** Milliseconds to the last byte of each path, fetched once each. */
async function timeOnce(url: string, paths: string[]): Promise<number[]> {
  const ms: number[] = [];
  for (const path of paths) {
    ms.push(...(await timePage(url, path, 1, false)).ms);
  }
  return ms;
}

/** The fleet page's measurements of one tree. */
interface PageRuns {
  /** Milliseconds to the last byte of GET / from the shared render. */
  shared: number[];
  /** Milliseconds to the last byte of GET / rendered anew. */
  anew: number[];
  /** The receiver's CPU time over the fetches rendered anew (ms). */
  cpuMs: number;
  /** The overview's size. */
  bytes: number;
  /** The receiver's RssAnon after (kB). */
  rssAnonKb: number;
}

/** The figures of the fleet page's measurements. */
function pageFigures(label: string, runs: [PageRuns, PageRuns]): Compared[] {
  const [b, h] = runs;
  const perRender = (r: PageRuns) => r.cpuMs / Math.max(1, r.anew.length);
  return [
    compared(
      `${label}: GET / from the shared render`,
      "ms",
      "lower",
      median(b.shared),
      median(h.shared),
    ),
    compared(
      `${label}: GET / rendered anew`,
      "ms",
      "lower",
      median(b.anew),
      median(h.anew),
    ),
    compared(
      `${label}: CPU per render anew`,
      "ms",
      "lower",
      perRender(b),
      perRender(h),
    ),
    compared(
      `${label}: its size`,
      "KiB",
      "lower",
      b.bytes / 1024,
      h.bytes / 1024,
    ),
    compared(
      `${label}: receiver RssAnon after`,
      "MiB",
      "lower",
      mib(b.rssAnonKb),
      mib(h.rssAnonKb),
    ),
  ];
}

/** One round of the page on a receiver: shared fetches, then fresh ones with the CPU they cost. */
async function pageRound(
  receiver: { url: string; pid: number },
  into: PageRuns,
  paths: string[],
  shared: number,
): Promise<void> {
  const t = await timePage(receiver.url, "/", shared);
  into.shared.push(...t.ms);
  into.bytes = t.bytes;
  const before = await cpuTimeMs(receiver.pid);
  into.anew.push(...await timeOnce(receiver.url, paths));
  const after = await cpuTimeMs(receiver.pid);
  into.cpuMs += (after ?? NaN) - (before ?? NaN);
}

/** GET / of a seeded fleet from both trees' receivers, in turns. */
async function pageComparison(
  programs: [Program, Program],
  o: BaselineOptions,
  progress: (s: string) => void,
): Promise<Compared[]> {
  const [clusters, days] = o.quick ? [300, 30] : [1000, 30];
  const dir = await Deno.makeTempDir({
    prefix: "hodometer-bench-baseline-page-",
  });
  try {
    progress(`baseline: the fleet page, ${clusters} clusters × ${days} days`);
    await seedStore(`${dir}/seed.db`, clusters, days);
    const receivers = await Promise.all(programs.map(async (program, i) => {
      await Deno.copyFile(`${dir}/seed.db`, `${dir}/${i}.db`);
      return await startReceiverProcess({
        program,
        args: ["--record-level", "all", "--store", `${dir}/${i}.db`],
      });
    }));
    try {
      const runs = receivers.map((): PageRuns => ({
        shared: [],
        anew: [],
        cpuMs: 0,
        bytes: 0,
        rssAnonKb: NaN,
      })) as [PageRuns, PageRuns];
      // Fresh spellings are not asked for again within the renders' 2 s.
      const [rounds, shared, fresh] = o.quick ? [3, 2, 3] : [20, 3, 6];
      for (let r = 0; r < rounds; r++) {
        const paths = Array.from(
          { length: fresh },
          (_, k) => freshOverview(r * fresh + k),
        );
        for (const i of inTurn(r, 0, 1)) {
          await pageRound(receivers[i]!, runs[i]!, paths, shared);
        }
      }
      for (const [i, r] of receivers.entries()) {
        runs[i]!.rssAnonKb = (await readMemory(r.pid))?.rssAnonKb ?? NaN;
      }
      return pageFigures(`fleet page (${clusters} clusters × ${days} d)`, runs);
    } finally {
      await Promise.all(receivers.map((r) => r.stop()));
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

// ------------------------------------------------------------ agent

/** `hodometer collect` of both trees at `scale`, in turns, against a fresh scheduler each. */
async function collectComparison(
  programs: [Program, Program],
  scale: ScaleOptions,
  o: BaselineOptions,
  progress: (s: string) => void,
): Promise<Compared[]> {
  const runs: [number[], number[], number[]][] = [[[], [], []], [[], [], []]];
  for (let r = 0; r < o.reps; r++) {
    progress(
      `baseline: collect at ${scale.models} models, round ${r + 1}/${o.reps}`,
    );
    for (const i of inTurn(r, 0, 1)) {
      const scheduler = await startDoubleProcess(scale, { batched: o.batched });
      try {
        const run = await runCollect(scheduler.port, { program: programs[i] });
        if (!run.ok) {
          throw new Error(
            `${programs[i]!.label} collect: ${run.stderr.slice(-500)}`,
          );
        }
        runs[i]![0].push(run.wallMs);
        runs[i]![1].push(run.peakRssAnonKb);
        runs[i]![2].push(run.peakVmHwmKb);
      } finally {
        await scheduler.stop();
      }
    }
  }
  const [b, h] = runs as [
    [number[], number[], number[]],
    [number[], number[], number[]],
  ];
  const label = `collect ${scale.models.toLocaleString("en")} models`;
  return [
    compared(`${label}: wall`, "ms", "lower", median(b[0]), median(h[0])),
    compared(
      `${label}: peak RssAnon`,
      "MiB",
      "lower",
      mib(Math.max(...b[1])),
      mib(Math.max(...h[1])),
    ),
    compared(
      `${label}: peak VmHWM`,
      "MiB",
      "lower",
      mib(Math.max(...b[2])),
      mib(Math.max(...h[2])),
    ),
  ];
}

/** `hodometer run` of both trees for a few cycles at 1 000 models: its peak RssAnon after the first cycle. */
async function runComparison(
  programs: [Program, Program],
  o: BaselineOptions,
  progress: (s: string) => void,
): Promise<Compared[]> {
  const cycles = o.quick ? 4 : 10;
  const peaks: [number[], number[]] = [[], []];
  for (let r = 0; r < Math.min(o.reps, 2); r++) {
    for (const i of inTurn(r, 0, 1)) {
      progress(`baseline: run, ${cycles} cycles, ${programs[i]!.label}`);
      const scheduler = await startDoubleProcess(SMALL, { batched: o.batched });
      try {
        const result = await runLoopCheck({
          schedulerPort: scheduler.port,
          cycles,
          expectedModels: scaledCounts(SMALL).model_count,
          timeoutMs: cycles * 15_000 + 60_000,
          program: programs[i],
        });
        peaks[i]!.push(Math.max(...result.peakRssAnonKb.slice(1)));
      } finally {
        await scheduler.stop();
      }
    }
  }
  return [
    compared(
      `run ${cycles} cycles at 1 000 models: peak RssAnon`,
      "MiB",
      "lower",
      mib(Math.max(...peaks[0])),
      mib(Math.max(...peaks[1])),
    ),
  ];
}

// ------------------------------------------------------------ the section

const shown = (n: number, unit: string) =>
  `${round(n, n >= 100 ? 0 : 2).toLocaleString("en")} ${unit}`;

/** The rows and verdicts of the figures compared. */
export function report(
  compared: readonly Compared[],
  labels: [string, string],
): Pick<BaselineFound, "rows" | "verdicts"> {
  const rows: string[][] = [["figure", labels[0], labels[1], "head/base"]];
  const verdicts: BaselineFound["verdicts"] = [];
  for (const c of compared) {
    const { ratio, pass } = judge(c);
    rows.push([
      c.figure,
      shown(c.base, c.unit),
      shown(c.head, c.unit),
      `${round(ratio, 3)}`,
    ]);
    verdicts.push({
      budget: `${c.figure}: unchanged or better within ${
        TOLERANCE * 100
      } % (${c.better} is better)`,
      pass,
      detail: `${shown(c.base, c.unit)} → ${shown(c.head, c.unit)} (${
        round(ratio, 3)
      } ×)`,
    });
  }
  return { rows, verdicts };
}

/** The large scale of collect: 100 000 models (20 000 with --quick). */
const large = (quick: boolean): ScaleOptions =>
  quick ? { ...LARGE, models: 20_000 } : LARGE;

/**
 * Each tree's receiver started and asked once, and its `collect` run once,
 * before anything is measured: the first start of a tree transpiles its
 * modules (kept in Deno's cache, by path), and its memory would be counted
 * against the tree that happens to be new to the cache (the base's worktree
 * always is).
 */
async function warmUp(
  programs: [Program, Program],
  o: BaselineOptions,
  progress: (s: string) => void,
): Promise<void> {
  progress("baseline: warming up both trees (their first start transpiles)");
  const scheduler = await startDoubleProcess(SMALL, { batched: o.batched });
  try {
    for (const program of programs) {
      const receiver = await startReceiverProcess({
        program,
        args: ["--record-level", "all", "--store", ":memory:"],
      });
      try {
        for (const path of [REFERENCE_PATH, "/", "/metrics", "/events"]) {
          await (await fetch(receiver.url + path)).body?.cancel();
        }
      } finally {
        await receiver.stop();
      }
      await runCollect(scheduler.port, { program });
    }
  } finally {
    await scheduler.stop();
  }
}

/** The comparisons `o.parts` asks for (every one unless given). */
async function comparisons(
  programs: [Program, Program],
  o: BaselineOptions,
  progress: (s: string) => void,
  notes: string[],
): Promise<Compared[]> {
  const wanted = (part: string) => o.parts === undefined || o.parts.has(part);
  await warmUp(programs, o, progress);
  const out: Compared[] = [];
  if (wanted("receiver") && await wrkAvailable()) {
    out.push(...await receiverComparison(programs, o, progress));
  } else if (wanted("receiver")) {
    notes.push(
      "baseline: the receiver's throughput not measured: wrk not found (apt-get install wrk)",
    );
  }
  if (wanted("page")) out.push(...await pageComparison(programs, o, progress));
  if (wanted("collector")) {
    for (const scale of [SMALL, large(o.quick)]) {
      out.push(...await collectComparison(programs, scale, o, progress));
    }
  }
  if (wanted("run")) out.push(...await runComparison(programs, o, progress));
  return out;
}

/** Every comparison of this tree with `o.ref`'s, in the same run. */
export async function baselineSection(
  o: BaselineOptions,
  progress: (s: string) => void,
): Promise<BaselineFound> {
  const tree = await baselineTree(o.ref);
  const notes: string[] = [];
  try {
    const base = await programAt(tree.root, `base ${o.ref}`);
    const programs: [Program, Program] = [base, thisProgram("head")];
    const compared = await comparisons(programs, o, progress, notes);
    const short = tree.commit.slice(0, 7);
    const baseLabel = o.ref === short
      ? `base ${short}`
      : `base ${o.ref} (${short})`;
    const { rows, verdicts } = report(compared, [baseLabel, "head"]);
    return {
      figures: { ref: o.ref, commit: tree.commit, compared },
      rows,
      verdicts,
      notes,
    };
  } finally {
    await tree.remove();
  }
}
