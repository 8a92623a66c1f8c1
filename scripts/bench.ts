// `deno task bench`: the performance budgets (docs/performance.md), measured on
// loopback.
//
//   deno task bench [--quick] [--reps N] [--cycles N]
//                                [--v8-flags LIST]
//                                [--only collector,run,kube,receiver,page,limit,ingest,reads]
//                                [--pod-cold bundle,source] [--pod-readahead KIB]
//                                [--scheduler batched|double] [--go-agent PATH]
//                                [--baseline GIT-REF]
//
// With --baseline, this tree is measured against the commit GIT-REF in the
// same run, in alternating rounds (bench/baseline.ts): the receiver's
// throughput and memory, the fleet page, collect and run, or those of them
// --only names (receiver, page, collector, run); no other section runs.
//
// Starts everything it needs (scheduler, Kubernetes API double, receivers),
// measures, stops everything, and prints a table, PASS/MISS per budget and
// one `BENCH_JSON {...}` line with every figure. A MISS is work to do, not a
// failure: the exit status is 1 only when a measurement could not be taken.
// Linux only (memory is read from /proc/<pid>/status and smaps_rollup, which
// Deno grants only with all permissions, hence the task's); the receiver
// section needs `wrk` (apt-get install wrk).

import {
  Command,
  CommanderError,
  InvalidArgumentError,
  Option,
} from "commander";
import {
  briefErrors,
  stdoutHelpWidth,
  useHelpLayout,
} from "../src/help_layout.ts";
import {
  scaledCounts,
  type ScaleOptions,
} from "../tests/fixtures/scheduler_double.ts";
import { startReceiverProcess } from "../tests/fixtures/receiver_process.ts";
import { type ProcessRun, runCollect, runDrain } from "./bench/collector.ts";
import { startDoubleProcess } from "./bench/double.ts";
import {
  type LoadResult,
  measuredRound,
  type Round,
  wrkAvailable,
} from "./bench/load.ts";
import { median, mib, round } from "./bench/stats.ts";
import { startBare } from "./bench/bare.ts";
import { LARGE, SMALL } from "./bench/scales.ts";
import { baselineSection } from "./bench/baseline.ts";
import { runLoopCheck, type RunLoopResult } from "./bench/run_loop.ts";
import { measurePages } from "./bench/page.ts";
import { measureReads } from "./bench/reads.ts";
import { kubeHostileBench } from "./bench/kube_hostile.ts";
import { limitSection } from "./bench/limit_section.ts";
import {
  GROWTH,
  measureGrowth,
  measureHostileBodies,
  SMALL_BYTES,
} from "./bench/ingest.ts";
import { DEFAULT_READAHEAD_KIB, type PodProgram } from "./bench/pod_image.ts";
import { V8_FLAGS } from "./permissions.ts";
import { errorMessage } from "../src/runtime/error_message.ts";
import { REFERENCE_DATA } from "../tests/receive_sample.ts";

/** The V8 flags the binary is built with (scripts/permissions.ts says why). */
export const AGENT_V8_FLAGS = V8_FLAGS.join(",");

const MIB = 1024;
interface Options {
  quick: boolean;
  reps: number;
  v8Flags: string;
  sections: Set<string>;
  batched: boolean;
  /** Run-loop cycles; 60 (5 with --quick) unless given. */
  cycles?: number;
  /** A built Go reference receiver to measure in the same rounds. */
  goReceiver?: string;
  /** A built Go agent (hodometer/cmd/hodometer) for the limit section. */
  goAgent?: string;
  /** Programs the limit section also measures pod cold (pod_image.ts). */
  podCold?: PodProgram[];
  /** The pod image's read-ahead, KiB. */
  podReadaheadKiB?: number;
  /** A commit to measure this tree against (bench/baseline.ts). */
  baseline?: string;
  /** With a baseline: the sections whose figures are compared; all unless given. */
  compared?: Set<string>;
}

const SECTIONS = [
  "collector",
  "run",
  "kube",
  "receiver",
  "page",
  "limit",
  "ingest",
  "reads",
] as const;

const USAGE =
  "usage: deno task bench [--quick] [--reps N] [--cycles N] [--v8-flags LIST] [--only collector,run,kube,receiver,page,limit,ingest,reads] [--scheduler batched|double] [--go-receiver PATH] [--go-agent PATH] [--pod-cold bundle,source] [--pod-readahead KIB] [--baseline GIT-REF]";

/** A whole number of at least `min`, for an option's argument. */
const wholeAtLeast = (min: number) => (raw: string) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min) {
    throw new InvalidArgumentError(`a whole number ≥ ${min}`);
  }
  return n;
};

/**
 * The command line, parsed with the conventions of hodometer's own; a number
 * is the status to exit with (help, or a usage error already said).
 */
export function parseOptions(args: string[]): Options | number {
  const width = stdoutHelpWidth();
  const cli = briefErrors(
    useHelpLayout(new Command("deno task bench"), width),
    "bench",
    USAGE,
  )
    .description(
      "Measure the performance budgets on loopback: a table, PASS/MISS per budget, and one BENCH_JSON line with every figure.",
    )
    .option("--quick", "small scales, 1 repetition and 5 run-loop cycles")
    .option(
      "--reps <n>",
      "repetitions of each measurement (default 3, 1 with --quick)",
      wholeAtLeast(1),
    )
    .option(
      "--cycles <n>",
      "run-loop cycles (default 60, 5 with --quick)",
      wholeAtLeast(2),
    )
    .addOption(
      new Option(
        "--v8-flags <list>",
        "V8 flags for collect and run; empty for none",
      ).default(AGENT_V8_FLAGS, "the shipped ones"),
    )
    .option(
      "--only <sections>",
      `comma-separated sections to measure: ${SECTIONS.join(", ")}`,
      (raw: string) => {
        const picked = raw.split(",");
        const unknown = picked.filter((p) =>
          !(SECTIONS as readonly string[]).includes(p)
        );
        if (unknown.length > 0) {
          throw new InvalidArgumentError(`unknown section ${unknown[0]}`);
        }
        return new Set(picked);
      },
    )
    .addOption(
      new Option(
        "--scheduler <kind>",
        "what serves the scheduler API in the collector section",
      ).choices(["batched", "double"]).default("batched"),
    )
    .option(
      "--go-receiver <path>",
      "a built Go reference receiver (Seldon's hodometer/cmd/receiver) to measure in the receiver section's rounds",
    )
    .option(
      "--go-agent <path>",
      "a built Go agent (Seldon's hodometer/cmd/hodometer): its smallest memory limit beside ours in the limit section",
    )
    .option(
      "--pod-cold <programs>",
      "limit section: also measure a pod's first start on a node that never ran it, from a private image: bundle (the proxy for the compiled binary), source (main.ts), comma-separated",
      (raw: string) => {
        const picked = raw.split(",");
        const unknown = picked.filter((p) => p !== "bundle" && p !== "source");
        if (unknown.length > 0) {
          throw new InvalidArgumentError(`unknown program ${unknown[0]}`);
        }
        return picked as PodProgram[];
      },
    )
    .option(
      "--pod-readahead <KiB>",
      `the pod image's read-ahead (default ${DEFAULT_READAHEAD_KIB}, the kernel's)`,
      wholeAtLeast(4),
    )
    .option(
      "--baseline <git-ref>",
      "measure this tree against that commit in the same run (a temporary git worktree), in alternating rounds; each figure for both, and their ratio",
    )
    .exitOverride();
  try {
    cli.parse(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const o = cli.opts<{
    quick?: boolean;
    reps?: number;
    cycles?: number;
    v8Flags: string;
    only?: Set<string>;
    scheduler: "batched" | "double";
    goReceiver?: string;
    goAgent?: string;
    podCold?: PodProgram[];
    podReadahead?: number;
    baseline?: string;
  }>();
  return {
    quick: o.quick === true,
    reps: o.reps ?? (o.quick ? 1 : 3),
    v8Flags: o.v8Flags,
    sections: o.baseline === undefined
      ? o.only ?? new Set(SECTIONS)
      : new Set(["baseline"]),
    compared: o.baseline === undefined ? undefined : o.only,
    batched: o.scheduler === "batched",
    cycles: o.cycles,
    goReceiver: o.goReceiver,
    goAgent: o.goAgent,
    podCold: o.podCold,
    podReadaheadKiB: o.podReadahead,
    baseline: o.baseline,
  };
}

// ------------------------------------------------------------ figures

type Figures = Record<string, unknown>;
const figures: Figures = {};
const rows: string[][] = [];
const verdicts: { budget: string; pass: boolean; detail: string }[] = [];
const notes: string[] = [];
let broken = false;
/** What served the scheduler API in the collector section. */
let schedulerKind = "";

function verdict(budget: string, pass: boolean, detail: string) {
  verdicts.push({ budget, pass, detail });
}

function progress(text: string) {
  console.error(`bench: ${text}`);
}

// ------------------------------------------------------------ collector

interface CollectorFigures {
  models: number;
  messages: number;
  collectWallMs: number;
  messagesPerSecond: number;
  peakVmHwmMiB: number;
  peakRssAnonMiB: number;
  peakRssAnonMedianMiB: number;
  noFlagsPeakRssAnonMiB?: number;
  noFlagsWallMs?: number;
  drainWallMs: number;
  drainPeakRssAnonMiB: number;
  wallRatio: number;
}

function totalMessages(s: ScaleOptions): number {
  return 1 + s.servers + s.models + s.pipelines + s.experiments;
}

function checkEvent(run: ProcessRun, scale: ScaleOptions): string | null {
  if (!run.ok) return `exit not 0: ${run.stderr.slice(-800)}`;
  try {
    const event = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "");
    const want = scaledCounts(scale);
    for (const [key, value] of Object.entries(want)) {
      if (event.properties[key] !== value) {
        return `${key} is ${event.properties[key]}, expected ${value}`;
      }
    }
    return null;
  } catch (e) {
    return `no event on stdout (${(e as Error).message})`;
  }
}

function checkDrain(run: ProcessRun, scale: ScaleOptions): string | null {
  if (!run.ok) return `exit not 0: ${run.stderr.slice(-800)}`;
  try {
    const got = JSON.parse(run.stdout.trim()).messages;
    return got === totalMessages(scale)
      ? null
      : `drained ${got} messages, expected ${totalMessages(scale)}`;
  } catch (e) {
    return `no result on stdout (${(e as Error).message})`;
  }
}

/** One measured process against a fresh scheduler (it may not outlive a client). */
async function measured(
  scale: ScaleOptions,
  o: Options,
  run: (port: number) => Promise<ProcessRun>,
): Promise<ProcessRun> {
  const scheduler = await startDoubleProcess(scale, { batched: o.batched });
  schedulerKind = scheduler.kind;
  try {
    return await run(scheduler.port);
  } finally {
    await scheduler.stop();
  }
}

async function collectorAt(
  scale: ScaleOptions,
  o: Options,
): Promise<CollectorFigures> {
  const flagged: ProcessRun[] = [];
  const plain: ProcessRun[] = [];
  const drains: ProcessRun[] = [];
  for (let i = 0; i < o.reps; i++) {
    progress(`collector, ${scale.models} models, round ${i + 1}/${o.reps}`);
    const c = await measured(
      scale,
      o,
      (port) => runCollect(port, { v8Flags: o.v8Flags }),
    );
    const bad = checkEvent(c, scale);
    if (bad) {
      throw new Error(`hodometer collect (${scale.models} models): ${bad}`);
    }
    flagged.push(c);
    if (o.v8Flags) {
      const p = await measured(
        scale,
        o,
        (port) => runCollect(port, { v8Flags: "" }),
      );
      const badPlain = checkEvent(p, scale);
      if (badPlain) {
        throw new Error(
          `hodometer collect without flags (${scale.models} models): ${badPlain}`,
        );
      }
      plain.push(p);
    }
    const d = await measured(scale, o, (port) => runDrain(port));
    const badDrain = checkDrain(d, scale);
    if (badDrain) {
      throw new Error(`bare drain (${scale.models} models): ${badDrain}`);
    }
    drains.push(d);
  }
  const wall = median(flagged.map((r) => r.wallMs));
  const drainWall = median(drains.map((r) => r.wallMs));
  const messages = totalMessages(scale);
  return {
    models: scale.models,
    messages,
    collectWallMs: round(wall),
    messagesPerSecond: round(messages / (wall / 1000)),
    peakVmHwmMiB: mib(Math.max(...flagged.map((r) => r.peakVmHwmKb))),
    peakRssAnonMiB: mib(Math.max(...flagged.map((r) => r.peakRssAnonKb))),
    peakRssAnonMedianMiB: mib(median(flagged.map((r) => r.peakRssAnonKb))),
    ...(plain.length
      ? {
        noFlagsPeakRssAnonMiB: mib(
          Math.max(...plain.map((r) => r.peakRssAnonKb)),
        ),
        noFlagsWallMs: round(median(plain.map((r) => r.wallMs))),
      }
      : {}),
    drainWallMs: round(drainWall),
    drainPeakRssAnonMiB: mib(Math.max(...drains.map((r) => r.peakRssAnonKb))),
    wallRatio: round(wall / drainWall, 2),
  };
}

async function collectorSection(o: Options) {
  const large: ScaleOptions = o.quick ? { ...LARGE, models: 20_000 } : LARGE;
  const small = await collectorAt(SMALL, o);
  const big = await collectorAt(large, o);
  figures.collector = {
    scheduler: schedulerKind,
    v8Flags: o.v8Flags,
    reps: o.reps,
    small,
    large: big,
  };
  for (const f of [small, big]) {
    rows.push([
      `collect ${f.models.toLocaleString("en")} models`,
      `wall ${f.collectWallMs} ms, ${
        f.messagesPerSecond.toLocaleString("en")
      } msg/s`,
      `peak RssAnon ${f.peakRssAnonMiB} MiB (median ${f.peakRssAnonMedianMiB}), VmHWM ${f.peakVmHwmMiB} MiB`,
    ]);
    if (f.noFlagsPeakRssAnonMiB !== undefined) {
      rows.push([
        `  same, no V8 flags`,
        `wall ${f.noFlagsWallMs} ms`,
        `peak RssAnon ${f.noFlagsPeakRssAnonMiB} MiB`,
      ]);
    }
    rows.push([
      `  bare grpc-js drain`,
      `wall ${f.drainWallMs} ms (collector/drain ${f.wallRatio})`,
      `peak RssAnon ${f.drainPeakRssAnonMiB} MiB`,
    ]);
  }
  verdict(
    `collector peak RssAnon ≤ 20 MiB at ${big.models} models`,
    big.peakRssAnonMiB <= 20,
    `${big.peakRssAnonMiB} MiB (max of ${o.reps})`,
  );
  const growth = round(big.peakRssAnonMiB - small.peakRssAnonMiB, 1);
  verdict(
    "collector peak RssAnon within 2 MiB of the 1 000-model figure",
    growth <= 2,
    `${big.peakRssAnonMiB} vs ${small.peakRssAnonMiB} MiB (${
      growth >= 0 ? "+" : ""
    }${growth})`,
  );
  verdict(
    "collector wall ≤ 1.3 × bare drain",
    big.wallRatio <= 1.3,
    `${big.wallRatio} × at ${big.models} models (${big.collectWallMs} vs ${big.drainWallMs} ms, process start included)`,
  );
  if (!o.batched) {
    notes.push(
      "collector: measured against the grpc-js test double, which sends slower than a client drains; use the default (batched) scheduler for realistic peaks",
    );
  }
}

// ------------------------------------------------------------ kubernetes

/** Hostile Kubernetes answers against benign ones (bench/kube_hostile.ts). */
async function kubeSection(o: Options) {
  const r = await kubeHostileBench(o.reps, o.v8Flags, progress);
  figures.kube = { peaks: r.peaks, pickerMiBPerSecond: r.pickerMiBPerSecond };
  rows.push(...r.rows);
  verdicts.push(...r.verdicts);
}

// ------------------------------------------------------------ run loop

async function runSection(o: Options) {
  const runs: [ScaleOptions, number][] = o.quick
    ? [[SMALL, o.cycles ?? 5]]
    : [[SMALL, 10], [LARGE, o.cycles ?? 60]];
  const out: Figures[] = [];
  for (const [scale, cycles] of runs) {
    progress(`run loop, ${cycles} cycles at ${scale.models} models`);
    const scheduler = await startDoubleProcess(scale, { batched: o.batched });
    try {
      const r = await runLoopCheck({
        schedulerPort: scheduler.port,
        cycles,
        expectedModels: scaledCounts(scale).model_count,
        v8Flags: o.v8Flags,
        timeoutMs: cycles * 15_000 + 60_000,
      });
      out.push(runFigures(scale, r));
    } finally {
      await scheduler.stop();
    }
  }
  figures.runLoop = out;
}

/** One run-loop measurement as figures, a table row and its verdicts. */
function runFigures(scale: ScaleOptions, r: RunLoopResult): Figures {
  // NaN when nothing was measured: the figures say so, the verdict fails.
  const first = r.rssAnonKb[0] ?? NaN;
  const last = r.rssAnonKb.at(-1) ?? NaN;
  // Cycle 1 includes start-up (module loading): the steady cycles follow.
  const steady = (xs: number[]) => xs.slice(1).filter((x) => !Number.isNaN(x));
  const working = steady(r.workingSetKb);
  const peak = Math.max(...steady(r.peakRssAnonKb));
  const f = {
    models: scale.models,
    cycles: r.cycles,
    completeCycles: r.complete,
    wallMs: round(r.wallMs),
    rssAnonAfterFirstMiB: mib(first),
    rssAnonAfterLastMiB: mib(last),
    peakRssAnonMiB: mib(peak),
    workingSetMedianMiB: working.length ? mib(median(working)) : null,
    workingSetMaxMiB: working.length ? mib(Math.max(...working)) : null,
    rssAnonMiB: r.rssAnonKb.map(mib),
    workingSetMiB: r.workingSetKb.map(mib),
  };
  const models = scale.models.toLocaleString("en");
  rows.push([
    `run loop ${r.cycles} cycles, ${models} models`,
    `${r.complete}/${r.cycles} complete, ${round(r.wallMs / 1000, 1)} s`,
    `RssAnon after 1: ${f.rssAnonAfterFirstMiB} MiB, after ${r.cycles}: ${f.rssAnonAfterLastMiB} MiB, peak ${f.peakRssAnonMiB} MiB`,
  ]);
  rows.push([
    `  working set of a cycle`,
    "pages referenced, anon + file",
    working.length
      ? `median ${f.workingSetMedianMiB} MiB, max ${f.workingSetMaxMiB} MiB`
      : "not measurable here (/proc/<pid>/clear_refs refused)",
  ]);
  if (r.complete !== r.cycles) {
    notes.push(
      `run loop at ${models} models: ${
        r.cycles - r.complete
      } cycle(s) published an incomplete event (scheduler unavailable?)`,
    );
  }
  if (r.cycles >= 20) {
    verdict(
      `run loop RssAnon after cycle ${r.cycles} ≤ after cycle 1 + 1 MiB (${models} models)`,
      last <= first + MIB,
      `${mib(first)} → ${mib(last)} MiB`,
    );
  }
  return f;
}

// ------------------------------------------------------------ receiver
//
// `wrk -t1 -c16` on the reference request (the reference collector's captured
// GET /track?data=...&verbose=1, tests/receive_sample.ts), the same request
// every time: after the first it is a re-delivery, answered 200 and counted
// once (summary: totalEvents stays 1; every answer is counted in
// hodometer_receiver_events_received_total, the re-deliveries also in
// hodometer_receiver_events_duplicate_total). The receivers run as shipped
// (startReceiverProcess); the yardstick is a bare Deno.serve under the same V8
// flags, answering the same body. This machine is shared: the targets take
// turns in short rounds and the verdict is on the median of each round's
// ratio. Each round also measures the CPU time each target spent per request
// (from /proc), which does not depend on what else the machine runs: the
// receiver is CPU-bound, so that ratio is the throughput ratio a quiet machine
// would see.

/** What was learnt profiling the receiver (V8 CPU profiles, CPU time per request), for the note. */
const RECEIVER_PROFILE_NOTE =
  "receiver: Hono on Deno's native HTTP server, one connection at a time (the server Deno.serve runs, " +
  "on connections the receiver accepts, for its timeouts and connection cap). Deno's native serving and " +
  "the kernel are most of a bare request's CPU and the receiver pays them too. Measured in the server " +
  "(variants adding one step each, CPU time per request): the receiver spends 20-25 us above a bare " +
  "server, of which decoding the event in the runtime's own code is 11-13 us (base64 1.5-2.5, UTF-8 " +
  "3.3-4.3, JSON.parse 5.5-6.6); a bare server plus that decoding alone measures 0.73-0.76 x bare, so " +
  "0.7 x leaves about 3 us for the server, the query, the checks, de-duplication and routing, which take " +
  "about 8. Removed: a second header on the success answer (5 us), a promise chain for answers that need " +
  "no waiting, building the success answer anew (a copy made at start: 2.5 -> 1.1 us) and Hono's routing " +
  "of /track and /import (about 1 us). atob and String.fromCharCode in place of TextDecoder measured " +
  "slower; V8's semi-space (1 or 4 MB) makes no difference (docs/performance.md)";

/**
 * The Go reference receiver at `bin` with a record level of its own (it reads
 * LISTEN_PORT, RECORD_LEVEL and LOG_LEVEL; it listens on every interface).
 */
async function startGoReceiver(bin: string, level: "SUMMARY" | "ALL"): Promise<
  { url: string; pid: number; stop(): Promise<void> }
> {
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  const child = new Deno.Command(bin, {
    env: {
      LISTEN_PORT: String(port),
      RECORD_LEVEL: level,
      LOG_LEVEL: "warning",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  };
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0;; attempt++) {
    try {
      await (await fetch(`${url}/events`)).body?.cancel();
      return { url, pid: child.pid, stop };
    } catch (e) {
      if (attempt >= 100) {
        await stop();
        throw new Error(
          `the Go receiver ${bin} did not answer within 5 s: ${
            errorMessage(e)
          }`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const REFERENCE_PATH = `/track?data=${REFERENCE_DATA}&verbose=1`;

async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  if (m === null) throw new Error(`/metrics has no ${name}`);
  return Number(m[1]);
}

async function receiverSection(o: Options) {
  if (!(await wrkAvailable())) {
    notes.push("receiver: skipped: wrk not found (apt-get install wrk)");
    figures.receiver = { skipped: "wrk not found" };
    return;
  }
  const seconds = o.quick ? 2 : 3;
  const rounds = o.quick ? 3 : Math.max(5, o.reps * 2 + 1);
  const load = { seconds, connections: 16, threads: 1 };
  const describe = (rps: number, r: LoadResult | undefined) =>
    `${round(rps).toLocaleString("en")} req/s (median of ${rounds}), p50 ${
      r?.p50Ms ?? "?"
    } ms, p99 ${r?.p99Ms ?? "?"} ms`;

  const storeDir = await Deno.makeTempDir({ prefix: "hodometer-bench-" });
  // goal: against the Go receiver at the same record level, in the same rounds.
  const modes = [
    {
      name: "summary",
      args: ["--record-level", "summary"],
      budget: 0.7,
      go: { level: "SUMMARY" as const, goal: 2.0 },
    },
    {
      name: "all",
      args: ["--record-level", "all", "--store", `${storeDir}/events.db`],
      budget: 0.3,
      go: { level: "ALL" as const, goal: 1.0 },
    },
  ];
  progress(
    `receiver: bare Deno.serve, summary, all on SQLite; ${rounds} rounds of ${seconds} s each`,
  );
  const bare = await startBare();
  const started = await Promise.all(
    modes.map(async (mode) => ({
      mode,
      receiver: await startReceiverProcess({ args: mode.args }),
    })),
  );
  const receivers = started.map((s) => s.receiver);
  const goReceivers = o.goReceiver === undefined ? [] : await Promise.all(
    modes.map((m) => startGoReceiver(o.goReceiver!, m.go.level)),
  );
  const targets = [
    { name: "bare", url: bare.url, pid: bare.pid },
    ...started.map(({ mode, receiver }) => ({
      name: mode.name,
      url: receiver.url,
      pid: receiver.pid,
    })),
    ...goReceivers.map((g, i) => ({
      name: `go ${modes[i]?.name}`,
      url: g.url,
      pid: g.pid,
    })),
  ];
  const runs = new Map<string, Round[]>();
  const roundsOf = (name: string): Round[] => {
    let rounds = runs.get(name);
    if (rounds === undefined) runs.set(name, rounds = []);
    return rounds;
  };
  try {
    for (const t of targets) {
      // The first delivery records the event; every later one is a re-delivery.
      const first = await fetch(t.url + REFERENCE_PATH);
      if (first.status !== 200) throw new Error(`${t.name}: ${first.status}`);
      await first.body?.cancel();
      roundsOf(t.name);
    }
    for (let r = 0; r < rounds; r++) {
      for (const t of targets) {
        roundsOf(t.name).push(
          await measuredRound(t.url + REFERENCE_PATH, t.pid, load),
        );
      }
    }
    const out: Figures = { seconds, rounds, connections: 16, threads: 1 };
    const rps = (name: string) =>
      roundsOf(name).map((x) => x.load.requestsPerSecond);
    const cpu = (name: string) => roundsOf(name).map((x) => x.cpuUsPerRequest);
    const middle = Math.floor(rounds / 2);
    const bareRounds = roundsOf("bare");
    const bareRps = median(rps("bare"));
    const bareCpu = median(cpu("bare"));
    rows.push([
      "bare Deno.serve",
      describe(bareRps, bareRounds[middle]?.load),
      `CPU ${round(bareCpu, 1)} µs per request`,
    ]);
    out.bare = {
      requestsPerSecond: round(bareRps),
      cpuUsPerRequest: round(bareCpu, 1),
    };
    for (const { mode, receiver: { url } } of started) {
      const modeRounds = roundsOf(mode.name);
      // Round k of a mode against round k of bare (NaN where bare has none).
      const ratios = modeRounds.map((x, k) =>
        x.load.requestsPerSecond /
        (bareRounds[k]?.load.requestsPerSecond ?? NaN)
      );
      const ratio = round(median(ratios), 2);
      const cpuRatios = modeRounds.map((x, k) =>
        (bareRounds[k]?.cpuUsPerRequest ?? NaN) / x.cpuUsPerRequest
      );
      const cpuRatio = round(median(cpuRatios), 2);
      const ok = modeRounds.reduce((n, x) => n + x.load.ok, 0);
      const errors = modeRounds.reduce((n, x) => n + x.load.errors, 0);
      const received = await counter(
        url,
        "hodometer_receiver_events_received_total",
      );
      const duplicates = await counter(
        url,
        "hodometer_receiver_events_duplicate_total",
      );
      // wrk stops its clock with up to one request per connection in flight:
      // those were answered (and counted) by the receiver, not by wrk.
      const inFlight = received - 1 - ok;
      out[mode.name] = {
        requestsPerSecond: round(median(rps(mode.name))),
        ratio,
        ratioMin: round(Math.min(...ratios), 2),
        ratioMax: round(Math.max(...ratios), 2),
        cpuUsPerRequest: round(median(cpu(mode.name)), 1),
        cpuRatio,
        cpuRatioMin: round(Math.min(...cpuRatios), 2),
        cpuRatioMax: round(Math.max(...cpuRatios), 2),
        wrkOk: ok,
        received,
        duplicates,
        inFlight,
      };
      rows.push([
        `hodometer receive (${mode.name})`,
        describe(
          median(rps(mode.name)),
          modeRounds[middle]?.load,
        ),
        `${ratio} × bare (rounds ${round(Math.min(...ratios), 2)}–${
          round(Math.max(...ratios), 2)
        }); CPU ${
          round(median(cpu(mode.name)), 1)
        } µs per request, ${cpuRatio} × bare's (rounds ${
          round(Math.min(...cpuRatios), 2)
        }–${round(Math.max(...cpuRatios), 2)}); ${
          received.toLocaleString("en")
        } received, ${duplicates.toLocaleString("en")} of them re-deliveries`,
      ]);
      verdict(
        `receiver ${mode.name} ≥ ${mode.budget} × bare requests/s`,
        ratio >= mode.budget,
        `${ratio} × (by CPU time per request ${cpuRatio} ×)`,
      );
      verdict(
        `receiver ${mode.name}: every answer counted once, the re-deliveries as such`,
        errors === 0 && inFlight >= 0 &&
          inFlight <= load.connections * rounds && duplicates === received - 1,
        `${received} received (${duplicates} re-deliveries), wrk ${ok} 2xx, ${errors} errors`,
      );
    }
    for (const mode of goReceivers.length > 0 ? modes : []) {
      const go = `go ${mode.name}`;
      const goRounds = roundsOf(go);
      // Round k of a mode against round k of the Go receiver at its level.
      const ratios = roundsOf(mode.name).map((x, k) =>
        x.load.requestsPerSecond /
        (goRounds[k]?.load.requestsPerSecond ?? NaN)
      );
      const ratio = round(median(ratios), 2);
      const goErrors = goRounds.reduce((n, x) => n + x.load.errors, 0);
      out[`go_${mode.name}`] = {
        requestsPerSecond: round(median(rps(go))),
        cpuUsPerRequest: round(median(cpu(go)), 1),
        errors: goErrors,
        receiveRatio: ratio,
        receiveRatioMin: round(Math.min(...ratios), 2),
        receiveRatioMax: round(Math.max(...ratios), 2),
      };
      rows.push([
        `Go receiver (${mode.go.level})`,
        describe(median(rps(go)), goRounds[middle]?.load),
        `CPU ${round(median(cpu(go)), 1)} µs per request (all its threads)`,
      ]);
      verdict(
        `receiver ${mode.name} ≥ ${mode.go.goal} × the Go receiver's ${mode.go.level}`,
        ratio >= mode.go.goal && goErrors === 0,
        `${ratio} × (rounds ${round(Math.min(...ratios), 2)}–${
          round(Math.max(...ratios), 2)
        })`,
      );
    }
    notes.push(RECEIVER_PROFILE_NOTE);
    if (goReceivers.length === 0) {
      notes.push(
        "receiver: the Go receiver not measured: pass --go-receiver PATH (a build of Seldon's hodometer/cmd/receiver)",
      );
    }
    figures.receiver = out;
  } finally {
    await Promise.all(goReceivers.map((g) => g.stop()));
    await bare.stop();
    await Promise.all(receivers.map((r) => r.stop()));
    await Deno.remove(storeDir, { recursive: true }).catch(() => {});
  }
}

// ------------------------------------------------------------ page

/** The fleet page's budgets: a page of a few hundred KB, answered quickly. */
const PAGE_BUDGET_MS = 250;
const PAGE_BUDGET_BYTES = 300_000;

async function pageSection(o: Options) {
  const fetches = o.quick ? 5 : 15;
  const scales: Array<[number, number]> = [[1000, 30], [10_000, 1]];
  progress(
    `page: 1 000 clusters × 30 days and 10 000 clusters × 1 day on SQLite, ${fetches} fetches of each page`,
  );
  const out: Figures = {};
  for (const [clusters, days] of scales) {
    const m = await measurePages(clusters, days, fetches);
    const key = `${clusters}x${days}d`;
    out[key] = {
      events: m.events,
      seedMs: round(m.seedMs),
      rssAnonKb: m.rssAnonKb,
      pages: m.pages.map((p) => ({
        path: p.path,
        bytes: p.bytes,
        medianMs: round(median(p.ms), 1),
        maxMs: round(Math.max(...p.ms), 1),
      })),
    };
    for (const p of m.pages) {
      rows.push([
        `page ${clusters.toLocaleString("en")} clusters × ${days} d: ${
          p.path.length > 40 ? `${p.path.slice(0, 40)}…` : p.path
        }`,
        `${round(median(p.ms), 1)} ms median, ${
          round(Math.max(...p.ms), 1)
        } ms max`,
        `${round(p.bytes / 1024, 1)} KiB; RssAnon ${
          m.rssAnonKb === null ? "?" : `${mib(m.rssAnonKb)} MiB`
        }`,
      ]);
    }
    const overview = m.pages[0] ?? { ms: [], bytes: NaN };
    verdict(
      `fleet page of ${
        clusters.toLocaleString("en")
      } clusters × ${days} d within ${PAGE_BUDGET_MS} ms and ${
        PAGE_BUDGET_BYTES / 1000
      } KB`,
      median(overview.ms) <= PAGE_BUDGET_MS &&
        overview.bytes <= PAGE_BUDGET_BYTES,
      `${round(median(overview.ms), 1)} ms median, ${overview.bytes} bytes`,
    );
  }
  figures.page = out;
}

// ------------------------------------------------------------ ingest

/** A hostile 1 MB body answered within this, other requests served meanwhile. */
const HOSTILE_BODY_BUDGET_MS = 1000;
/** Linear work grows GROWTH times; twice that allows for noise, quadratic is GROWTH². */
const GROWTH_BUDGET = 2 * GROWTH;

async function ingestSection(o: Options) {
  progress(
    `ingest: decoding hostile bodies at ${
      SMALL_BYTES / 1024
    } KiB and ${GROWTH} × that; 1 MB hostile bodies to the shipped receiver`,
  );
  const growth = measureGrowth(o.quick ? 3 : 5);
  for (const g of growth) {
    rows.push([
      `ingest: ${g.name}`,
      `${round(g.smallMs, 2)} ms → ${round(g.largeMs, 2)} ms`,
      `${round(g.ratio, 1)} × for ${GROWTH} × the bytes`,
    ]);
  }
  const worst = growth.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  verdict(
    `ingestion work grows linearly (≤ ${GROWTH_BUDGET} × for ${GROWTH} × the bytes, every hostile family)`,
    worst.ratio <= GROWTH_BUDGET,
    `worst ${round(worst.ratio, 1)} × (${worst.name})`,
  );
  const bodies = await measureHostileBodies(
    o.quick ? ["form of &"] : ["form of &", "} then newlines", "form of =&"],
  );
  for (const b of bodies) {
    rows.push([
      `hostile 1 MB body: ${b.family}`,
      `answered ${b.status} in ${round(b.answerMs)} ms`,
      `slowest /healthz meanwhile ${
        round(b.slowestOtherMs)
      } ms (${b.otherRequests} served)`,
    ]);
    verdict(
      `a 1 MB hostile body (${b.family}) answered within ${HOSTILE_BODY_BUDGET_MS} ms while other requests are served`,
      b.answerMs <= HOSTILE_BODY_BUDGET_MS &&
        b.slowestOtherMs <= HOSTILE_BODY_BUDGET_MS,
      `${round(b.answerMs)} ms; slowest /healthz ${round(b.slowestOtherMs)} ms`,
    );
  }
  figures.ingest = {
    smallBytes: SMALL_BYTES,
    growth: growth.map((g) => ({
      ...g,
      smallMs: round(g.smallMs, 2),
      largeMs: round(g.largeMs, 2),
      ratio: round(g.ratio, 2),
    })),
    hostileBodies: bodies.map((b) => ({
      ...b,
      answerMs: round(b.answerMs),
      slowestOtherMs: round(b.slowestOtherMs),
    })),
  };
}

// ------------------------------------------------------------ reads
//
// The read side at 10 000 clusters (all, on SQLite): reads of an unchanged
// store under `wrk -t1 -c4`, then the fault suite's loads; under each, the
// slowest /healthz answer (goal ≤ 2 s), and under the loads the receiver's
// peak resident set (goal: the manifest's 128 MiB).

const HEALTH_GOAL_MS = 2_000;
const READ_VMHWM_GOAL_KB = 128 * MIB;

async function readsSection(o: Options) {
  if (!(await wrkAvailable())) {
    notes.push("reads: skipped: wrk not found (apt-get install wrk)");
    figures.reads = { skipped: "wrk not found" };
    return;
  }
  const clusters = 10_000;
  const seconds = o.quick ? 2 : 4;
  progress(
    `reads: ${
      clusters.toLocaleString("en")
    } clusters on SQLite; wrk -t1 -c4 for ${seconds} s a read, then the fault loads`,
  );
  const m = await measureReads(clusters, seconds);
  for (const r of m.runs) {
    rows.push([
      `read ${r.path}${r.acceptEncoding ? ` (${r.acceptEncoding})` : ""}`,
      `${round(r.load.requestsPerSecond).toLocaleString("en")} req/s, p50 ${
        round(r.load.p50Ms, 1)
      } ms, p99 ${round(r.load.p99Ms, 1)} ms`,
      `${
        round(r.answerBytes / 1024).toLocaleString("en")
      } KiB an answer; ${r.load.errors} errors; slowest /healthz ${
        round(r.slowestHealthMs)
      } ms`,
    ]);
  }
  for (const l of m.loads) {
    rows.push([
      `load: ${l.name}`,
      `slowest /healthz ${
        round(l.slowestHealthMs)
      } ms (${l.healthFailures} failed)`,
      `VmHWM ${l.vmHwmKb === null ? "?" : `${mib(l.vmHwmKb)} MiB`}; ${
        JSON.stringify(l.answers)
      }`,
    ]);
  }
  const slowest = Math.max(
    ...m.runs.map((r) => r.slowestHealthMs),
    ...m.loads.map((l) => l.slowestHealthMs),
  );
  verdict(
    `slowest /healthz ≤ ${HEALTH_GOAL_MS} ms under each read load`,
    slowest <= HEALTH_GOAL_MS && m.loads.every((l) => l.healthFailures === 0),
    `${round(slowest)} ms at most`,
  );
  const peak = Math.max(...m.loads.map((l) => l.vmHwmKb ?? Infinity));
  verdict(
    `receiver VmHWM ≤ 128 MiB under each read load at ${clusters} clusters`,
    peak <= READ_VMHWM_GOAL_KB,
    `${mib(peak)} MiB at most`,
  );
  figures.reads = { ...m, seedMs: round(m.seedMs) };
}

// ------------------------------------------------------------ main

function print(o: Options) {
  const width: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => width[i] = Math.max(width[i] ?? 0, c.length));
  }
  console.log(
    `\nhodometer bench (${
      o.quick ? "quick" : "full"
    }; V8 flags for collect/run: ${o.v8Flags || "none"})\n`,
  );
  for (const r of rows) {
    console.log(r.map((c, i) => c.padEnd(width[i] ?? 0)).join("  ").trimEnd());
  }
  console.log("");
  for (const v of verdicts) {
    console.log(`${v.pass ? "PASS" : "MISS"}  ${v.budget}: ${v.detail}`);
  }
  for (const n of notes) console.log(`note  ${n}`);
  figures.budgets = verdicts;
  figures.notes = notes;
  console.log(`\nBENCH_JSON ${JSON.stringify(figures)}`);
}

if (import.meta.main) {
  const o = parseOptions(Deno.args);
  if (typeof o === "number") Deno.exit(o);
  figures.startedAt = new Date().toISOString();
  figures.deno = Deno.version.deno;
  figures.quick = o.quick;
  const sections: [string, (o: Options) => Promise<void>][] = [
    ["collector", collectorSection],
    ["run", runSection],
    ["kube", kubeSection],
    ["receiver", receiverSection],
    ["page", pageSection],
    ["limit", async (o: Options) => {
      const found = await limitSection(o, progress);
      figures.limit = found.figures;
      rows.push(...found.rows);
      verdicts.push(...found.verdicts);
      notes.push(...found.notes);
    }],
    ["ingest", ingestSection],
    ["reads", readsSection],
  ];
  if (o.baseline !== undefined) {
    const ref = o.baseline;
    sections.push(["baseline", async (o: Options) => {
      const found = await baselineSection(
        { ...o, ref, parts: o.compared },
        progress,
      );
      figures.baseline = found.figures;
      rows.push(...found.rows);
      verdicts.push(...found.verdicts);
      notes.push(...found.notes);
    }]);
  }
  for (const [name, section] of sections) {
    if (!o.sections.has(name)) continue;
    try {
      await section(o);
    } catch (e) {
      broken = true;
      const message = errorMessage(e);
      notes.push(`${name}: not measured: ${message}`);
      figures[name] = { error: message };
    }
  }
  print(o);
  Deno.exit(broken ? 1 : 0);
}
