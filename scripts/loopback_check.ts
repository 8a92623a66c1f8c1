// The loopback check: runs a command (the test suite: `deno task test` runs
// `deno test` through it) under `strace -f`, and fails when any process it
// starts opens a connection to, or sends a datagram to, an address outside
// loopback, or sends a DNS query to any address at all: a name looked up is a
// query that leaves the machine, even when the resolver it goes to listens on
// loopback. The report names what went where and which command sent it.
//
//   deno run --allow-run --allow-read --allow-write --allow-env \
//     scripts/loopback_check.ts deno test [ARG...]
//
// A leading `deno` is this Deno (so `npx deno@… task test` traces the pinned
// one). The command runs without DENO_NO_UPDATE_CHECK: every Deno the tests
// start must set it itself (scripts/runtime_env.ts), so that a test that does
// not is caught. Before the command, a canary (a connection to 127.0.0.1:53,
// where nothing is sent) proves that the trace sees what it must. Without
// strace, or where it cannot trace, the command runs untraced and the check
// says it was skipped and why. Processes the command leaves running after it
// ends (strace would wait for them) are stopped after a grace period, and
// fail the check by name.

import { formatFindings, TraceAudit } from "./loopback/audit.ts";

/** The calls that send to an address, and those that tell whose they are. */
const TRACED =
  "connect,sendto,sendmsg,sendmmsg,socket,execve,clone,clone3,fork,vfork";
/** How long processes the command left behind have to end once it has. */
const GRACE_MS = 15_000;
const POLL_MS = 100;

/** The command passed but something left loopback, or kept running. */
export const EXIT_LEFT_LOOPBACK = 1;
/** No command given. */
export const EXIT_USAGE = 2;

const CANARY =
  'try { (await Deno.connect({ hostname: "127.0.0.1", port: 53 })).close(); } catch { /* refused */ }';

const say = (line: string) => console.error(`loopback check: ${line}`);

/** strace's arguments to trace `command`, writing to `output`. */
export function straceArgs(output: string, command: string[]): string[] {
  return [
    "-f",
    "--seccomp-bpf",
    "-q",
    "-e",
    `trace=${TRACED}`,
    "-e",
    "signal=none",
    "-x",
    "-s",
    "256",
    "-o",
    output,
    "--",
    ...command,
  ];
}

/** Why strace cannot trace here, or null when it can. */
async function tracerProblem(): Promise<string | null> {
  try {
    const out = await new Deno.Command("strace", {
      args: straceArgs("/dev/null", ["true"]),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    const said = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    return `strace cannot trace here (${said})`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return "strace is not installed (apt-get install strace)";
    }
    throw e;
  }
}

interface Traced {
  status: Deno.CommandStatus;
  audit: TraceAudit;
  /** Processes still running after the command ended, stopped by the check. */
  stopped: string[];
}

/** Reads the lines of a file that is still being written until `finished()`. */
async function follow(
  path: string,
  finished: () => boolean,
  onLine: (line: string) => void,
): Promise<void> {
  const file = await Deno.open(path);
  const buffer = new Uint8Array(1 << 16);
  const decoder = new TextDecoder();
  let rest = "";
  let last = false;
  try {
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) {
        if (last) break;
        // Once the writer is gone, one more read to the end takes the rest.
        if (finished()) last = true;
        else await new Promise((r) => setTimeout(r, POLL_MS));
        continue;
      }
      rest += decoder.decode(buffer.subarray(0, n), { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop() ?? "";
      lines.forEach(onLine);
    }
    if (rest) onLine(rest);
  } finally {
    file.close();
  }
}

/**
 * Whether a process still exists. strace may hold a process's last lines
 * (its exit among them) in its buffer while other traced processes idle, so
 * the trace alone cannot tell that the command has ended; SIGCONT changes
 * nothing for a running process and fails for one that is gone.
 */
function exists(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Stops what the command left running, once it has ended and the grace is over. */
function watchLeftovers(audit: TraceAudit, stopped: string[]): () => void {
  let endedAt: number | undefined;
  const timer = setInterval(() => {
    const main = audit.main;
    if (
      main === undefined ||
      (audit.running().some((p) => p.pid === main) && exists(main))
    ) return;
    endedAt ??= Date.now();
    if (Date.now() - endedAt < GRACE_MS) return;
    for (const { pid, command } of audit.running()) {
      if (!exists(pid)) continue;
      try {
        Deno.kill(pid, "SIGKILL");
        stopped.push(`pid ${pid}: ${command}`);
      } catch { /* gone meanwhile */ }
    }
  }, 1_000);
  return () => clearInterval(timer);
}

/** Runs `command` under strace, auditing the trace as it is written. */
async function traceRun(
  command: string[],
  env: Record<string, string>,
  io: "inherit" | "null",
): Promise<Traced> {
  const output = await Deno.makeTempFile({
    prefix: "hodometer-loopback-",
    suffix: ".strace",
  });
  const audit = new TraceAudit();
  const stopped: string[] = [];
  try {
    const child = new Deno.Command("strace", {
      args: straceArgs(output, command),
      env,
      clearEnv: true,
      stdin: io,
      stdout: io,
      stderr: io,
    }).spawn();
    const forward = (signal: Deno.Signal) => () => {
      try {
        child.kill(signal);
      } catch { /* ended */ }
    };
    const handlers = (["SIGINT", "SIGTERM"] as const).map((s) =>
      [s, forward(s)] as const
    );
    handlers.forEach(([s, h]) => Deno.addSignalListener(s, h));
    const unwatch = watchLeftovers(audit, stopped);
    let ended = false;
    const status = child.status.then((s) => (ended = true, s));
    await follow(output, () => ended, (line) => audit.add(line));
    unwatch();
    handlers.forEach(([s, h]) => Deno.removeSignalListener(s, h));
    const final = await status;
    if (final.signal !== null || stopped.length > 0) {
      // Kept for whoever must find out why: the trace holds each process's end.
      const kept = output.replace(/\.strace$/, ".failed.strace");
      await Deno.rename(output, kept).catch(() => {});
      say(`the trace is kept in ${kept}`);
    }
    return { status: final, audit, stopped };
  } finally {
    await Deno.remove(output).catch(() => {});
  }
}

/** Null when the trace sees the canary's connection to port 53, else why not. */
async function canaryProblem(): Promise<string | null> {
  const { audit } = await traceRun(
    [Deno.execPath(), "eval", CANARY],
    { ...Deno.env.toObject(), DENO_NO_UPDATE_CHECK: "1" },
    "null",
  );
  const seen = audit.findings().some((f) =>
    f.what.endsWith(" to 127.0.0.1:53") && f.command.includes(" eval ")
  );
  return seen
    ? null
    : "the trace did not show the canary's connection to 127.0.0.1:53, so it cannot vouch for the command's";
}

/** The exit status of a finished command, a signal as 128 + its number. */
function exitStatus(status: Deno.CommandStatus): number {
  if (status.signal === null) return status.code;
  const numbers: Partial<Record<Deno.Signal, number>> = {
    SIGINT: 2,
    SIGABRT: 6,
    SIGBUS: 7,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGPIPE: 13,
    SIGTERM: 15,
  };
  return 128 + (numbers[status.signal] ?? 0);
}

async function runUntraced(command: string[]): Promise<number> {
  const [program, ...args] = command as [string, ...string[]];
  const status = await new Deno.Command(program, { args }).spawn().status;
  return exitStatus(status);
}

/** The check: runs `args` (a command) and resolves to the status to exit with. */
export async function loopbackCheck(args: string[]): Promise<number> {
  if (args.length === 0) {
    console.error(
      "usage: deno run --allow-run --allow-read --allow-write --allow-env scripts/loopback_check.ts COMMAND [ARG...]",
    );
    return EXIT_USAGE;
  }
  const command = args[0] === "deno"
    ? [Deno.execPath(), ...args.slice(1)]
    : args;
  const problem = await tracerProblem();
  if (problem) {
    say(`SKIPPED: ${problem}; the command runs untraced`);
    return await runUntraced(command);
  }
  const blind = await canaryProblem();
  if (blind) {
    say(`FAILED: ${blind}`);
    return EXIT_LEFT_LOOPBACK;
  }
  const env = Deno.env.toObject();
  delete env.DENO_NO_UPDATE_CHECK;
  const { status, audit, stopped } = await traceRun(command, env, "inherit");
  const code = exitStatus(status);
  if (status.signal !== null) {
    say(`the traced command ended on ${status.signal} (exit status ${code})`);
  }
  const findings = audit.findings();
  if (findings.length === 0 && stopped.length === 0) {
    say(
      `passed: no connection, datagram or DNS query beyond loopback (${audit.inetCalls} calls to IP addresses traced)`,
    );
    return code;
  }
  if (findings.length > 0) {
    say(`FAILED: traffic beyond loopback, or DNS queries:`);
    formatFindings(findings).forEach((line) => console.error(line));
  }
  if (stopped.length > 0) {
    say(
      `FAILED: still running ${
        GRACE_MS / 1000
      } s after the command ended, stopped:`,
    );
    stopped.forEach((line) => console.error(`  ${line}`));
  }
  return code === 0 ? EXIT_LEFT_LOOPBACK : code;
}

if (import.meta.main) {
  Deno.exit(await loopbackCheck(Deno.args));
}
