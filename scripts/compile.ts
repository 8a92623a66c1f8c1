// Builds the single hodometer executable with `deno compile`:
// dist/hodometer-<target>. Run through scripts/compile.sh (or `deno task
// compile`); `--help` says everything it takes.
//
// The work tree is never modified: the sources are copied into a temporary
// build directory and src/build_info.ts is stamped there; it is removed on
// any exit. A binary for the host's target is run once (`version`, in an
// empty directory with an empty environment) before it is kept, unless
// --no-run.

import { Command, CommanderError, Option } from "commander";
import type { BuildInfo } from "../src/build_info.ts";
import { errorMessage } from "../src/runtime/error_message.ts";
import {
  briefErrors,
  formatHelpSection,
  stdoutHelpWidth,
  useHelpLayout,
} from "../src/help_layout.ts";
import {
  compileFlags,
  type PathOverrides,
  permissions,
  permissionsMarkdown,
} from "./permissions.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
] as const;

export const EXIT_BUILT = 0;
/** deno compile failed, or the built binary did not run. */
export const EXIT_FAILED = 1;
/** A bad argument, VERSION, GIT_COMMIT or path list: nothing was built. */
export const EXIT_USAGE = 2;
/** No Deno runtime (denort) for a target. */
export const EXIT_NO_RUNTIME = 3;

const USAGE =
  "usage: bash scripts/compile.sh [--target TRIPLE | --all] [--out-dir DIR] [--no-run] | --print-permissions | --print-flags";

/** What a stamp may hold: it is written into a module and shown by `version`. */
const STAMP_OK = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,79}$/;

const ENVIRONMENT: readonly (readonly [string, string])[] = [
  [
    "VERSION",
    'stamped version; default `git describe --tags --always --dirty`, else deno.json\'s "version", else dev',
  ],
  ["GIT_COMMIT", "stamped commit; default `git rev-parse HEAD`, else unknown"],
  [
    "DENORT_BIN",
    "a local Deno runtime (denort) for the target, used instead of a download from dl.deno.land (Deno's own variable; one target per run)",
  ],
  [
    "DENO",
    "the deno command; default deno, else npx with the version pinned in deno.json",
  ],
  [
    "DENO_DIR",
    "Deno's cache for deno compile: runtimes and the program's packages",
  ],
  [
    "HODOMETER_ALLOW_READ, HODOMETER_ALLOW_WRITE",
    "replace the default path lists (see scripts/permissions.ts)",
  ],
  [
    "DENORT_DOWNLOAD_TIMEOUT",
    "seconds allowed for fetching a runtime (default 300)",
  ],
];

const EXIT_STATUS: readonly (readonly [string, string])[] = [
  [String(EXIT_BUILT), "built"],
  [String(EXIT_FAILED), "compile failed or the built binary did not run"],
  [
    String(EXIT_USAGE),
    "usage error or bad VERSION/GIT_COMMIT/path list: nothing was built",
  ],
  [
    String(EXIT_NO_RUNTIME),
    "no Deno runtime (denort) for a target: no DENORT_BIN and the download failed, or DENORT_BIN is not a readable file",
  ],
];

/** A way the build stops: the line to say, the exit status, the usage line. */
class Stop extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

const usage = (message: string) => new Stop(message, EXIT_USAGE, true);

function say(message: string): void {
  console.error(`hodometer compile: ${message}`);
}

export interface CompileOptions {
  targets: string[];
  outDir: string;
  run: boolean;
  print?: "permissions" | "flags";
}

/** The command line, parsed with the conventions of hodometer's own. */
export function parseArgs(args: string[]): CompileOptions | number {
  const width = stdoutHelpWidth();
  const cli = briefErrors(
    useHelpLayout(new Command("bash scripts/compile.sh"), width),
    "hodometer compile",
    USAGE,
  )
    .description(
      "Build the single hodometer executable with deno compile: <out-dir>/hodometer-<target>. Targets: the host's by default, all four with --all.",
    )
    .option(
      "--target <triple>",
      `a target to build for, repeatable: ${TARGETS.join(", ")}`,
      (value: string, previous: string[] | undefined) => [
        ...previous ?? [],
        value,
      ],
    )
    .option("--all", "every target")
    .addOption(
      new Option("--out-dir <dir>", "where binaries go").default(
        `${ROOT}/dist`,
        "dist/ of the repository",
      ),
    )
    .option("--no-run", "do not run a host binary once before keeping it")
    .option(
      "--print-permissions",
      "print the baked-in permissions as a markdown list, and build nothing",
    )
    .option("--print-flags", "print the compile flags, one a line")
    .addHelpText(
      "after",
      `\n${formatHelpSection("Environment:", ENVIRONMENT, width)}\n\n${
        formatHelpSection("Exit status:", EXIT_STATUS, width)
      }\n`,
    )
    .exitOverride();
  try {
    cli.parse(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT_BUILT : EXIT_USAGE;
    }
    throw err;
  }
  const o = cli.opts<{
    target?: string[];
    all?: boolean;
    outDir: string;
    run: boolean;
    printPermissions?: boolean;
    printFlags?: boolean;
  }>();
  return {
    targets: o.all ? [...TARGETS] : o.target ?? [],
    outDir: o.outDir,
    run: o.run,
    print: o.printPermissions
      ? "permissions"
      : o.printFlags
      ? "flags"
      : undefined,
  };
}

/** The host's target triple, when it is one of TARGETS. */
export function hostTarget(): string | undefined {
  return (TARGETS as readonly string[]).includes(Deno.build.target)
    ? Deno.build.target
    : undefined;
}

/**
 * The module src/build_info.ts with `info` stamped in, from its text: only
 * the value of BUILD_INFO changes, so its type stays the one declared there.
 */
export function stampBuildInfo(source: string, info: BuildInfo): string {
  const value = /^(export const BUILD_INFO: BuildInfo = )\{[^}]*\};$/m;
  if (!value.test(source)) {
    throw new Error("src/build_info.ts has no BUILD_INFO value to stamp");
  }
  return source.replace(value, `$1${JSON.stringify(info)};`);
}

async function output(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
  } catch {
    return "";
  }
}

/** What to stamp: VERSION and GIT_COMMIT, else what git and deno.json say. */
async function stamp(env: Record<string, string>): Promise<BuildInfo> {
  let version = env.VERSION ?? "";
  if (version === "") {
    version = await output("git", [
      "describe",
      "--tags",
      "--always",
      "--dirty",
    ]);
  }
  if (version === "") {
    try {
      const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
      if (typeof config.version === "string") version = config.version;
    } catch {
      // no deno.json version: dev
    }
  }
  version ||= "dev";
  let gitCommit = env.GIT_COMMIT ?? "";
  if (gitCommit === "") gitCommit = await output("git", ["rev-parse", "HEAD"]);
  gitCommit ||= "unknown";
  if (!STAMP_OK.test(version)) {
    throw usage(
      `VERSION "${version}" is not a version (letters, digits, . _ + -)`,
    );
  }
  if (!STAMP_OK.test(gitCommit)) {
    throw usage(
      `GIT_COMMIT "${gitCommit}" is not a commit (letters, digits, . _ + -)`,
    );
  }
  return { version, gitCommit };
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const [a, b] = [`${from}/${entry.name}`, `${to}/${entry.name}`];
    if (entry.isDirectory) await copyTree(a, b);
    else if (entry.isFile) await Deno.copyFile(a, b);
  }
}

/** A copy of the program's sources with the stamp in src/build_info.ts. */
async function stampedCopy(build: string, info: BuildInfo): Promise<void> {
  for (const file of ["main.ts", "deno.json", "deno.lock"]) {
    try {
      await Deno.copyFile(`${ROOT}/${file}`, `${build}/${file}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound && file === "deno.lock")) throw e;
    }
  }
  await copyTree(`${ROOT}/src`, `${build}/src`);
  const path = `${build}/src/build_info.ts`;
  await Deno.writeTextFile(
    path,
    stampBuildInfo(await Deno.readTextFile(path), info),
  );
}

interface Build {
  dir: string;
  info: BuildInfo;
  flags: string[];
  /** The environment deno compile runs with. */
  env: Record<string, string>;
  host?: string;
  /** The deno compile running now, stopped with the build. */
  child?: Deno.ChildProcess;
  /** Set by SIGINT (130) or SIGTERM (143): the build ends with this status. */
  stopped?: number;
}

/** The build was stopped by a signal: nothing more to say. */
class Interrupted extends Error {}

async function deno(
  build: Build,
  args: string[],
  options: { cwd?: string; quiet?: boolean; signal?: AbortSignal } = {},
): Promise<boolean> {
  if (build.stopped !== undefined) throw new Interrupted();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: build.env,
    clearEnv: true,
    stdin: "null",
    stdout: options.quiet ? "null" : "inherit",
    stderr: options.quiet ? "null" : "inherit",
    signal: options.signal,
  }).spawn();
  build.child = child;
  try {
    const { success } = await child.status;
    if (build.stopped !== undefined) throw new Interrupted();
    return success;
  } finally {
    build.child = undefined;
  }
}

/**
 * Whether there is a runtime for `target`: DENORT_BIN if set, else what deno
 * finds in its cache or downloads, found out on a tiny program before the
 * real compile.
 */
async function checkRuntime(build: Build, target: string): Promise<void> {
  const hint =
    `set DENORT_BIN=/path/to/denort-${target} or allow downloads from dl.deno.land`;
  const noRuntime = (why: string) =>
    new Stop(
      `no Deno runtime (denort) available for ${target}: ${why}`,
      EXIT_NO_RUNTIME,
    );
  const given = build.env.DENORT_BIN;
  if (given) {
    try {
      const file = await Deno.open(given, { read: true });
      const info = await file.stat();
      file.close();
      if (info.isFile) return;
    } catch {
      // not readable: said below
    }
    throw noRuntime(`DENORT_BIN=${given} is not a readable file; ${hint}`);
  }
  const seconds = Number(build.env.DENORT_DOWNLOAD_TIMEOUT ?? "300");
  const probe = `${build.dir}/probe`;
  await Deno.mkdir(probe, { recursive: true });
  await Deno.writeTextFile(`${probe}/probe.ts`, 'console.log("ok");\n');
  const ok = await deno(build, [
    "compile",
    "--quiet",
    "--no-config",
    "--target",
    target,
    "--output",
    `${probe}/probe-${target}`,
    `${probe}/probe.ts`,
  ], {
    quiet: true,
    signal: Number.isFinite(seconds) && seconds > 0
      ? AbortSignal.timeout(seconds * 1000)
      : undefined,
  }).catch((e) => {
    if (e instanceof Interrupted) throw e;
    return false;
  });
  if (!ok) throw noRuntime(hint);
  await Deno.remove(`${probe}/probe-${target}`).catch(() => {});
}

/** Runs a host binary alone in an empty directory with an empty environment. */
async function smokeTest(build: Build, binary: string): Promise<void> {
  const empty = await Deno.makeTempDir({ dir: build.dir, prefix: "empty." });
  await Deno.copyFile(binary, `${empty}/hodometer`);
  await Deno.chmod(`${empty}/hodometer`, 0o755);
  let said = "";
  try {
    const out = await new Deno.Command(`${empty}/hodometer`, {
      args: ["version"],
      cwd: empty,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    said = text.decode(out.stdout) + text.decode(out.stderr);
  } catch (e) {
    said = errorMessage(e);
  }
  await Deno.remove(empty, { recursive: true });
  // deno-lint-ignore no-control-regex
  const lines = said.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const { version, gitCommit } = build.info;
  if (
    lines[0] === `hodometer ${version}` &&
    lines[1] === `git commit: ${gitCommit}`
  ) return;
  const hint = build.env.DENORT_BIN
    ? `; is DENORT_BIN=${build.env.DENORT_BIN} a denort for ${build.host}?`
    : "";
  throw new Stop(
    `the built binary does not run (\`version\` said: ${lines[0]})${hint}`,
    EXIT_FAILED,
  );
}

async function compileFor(
  build: Build,
  target: string,
  outDir: string,
  run: boolean,
): Promise<void> {
  await checkRuntime(build, target);
  await Deno.mkdir(outDir, { recursive: true });
  const out = `${outDir}/hodometer-${target}`;
  // Built in the build directory and copied out only when it is kept, so a
  // failed or interrupted build leaves nothing behind.
  const built = `${build.dir}/out/hodometer-${target}`;
  const { version, gitCommit } = build.info;
  say(`building ${out} (version ${version}, commit ${gitCommit})`);
  // Type checking is the test suite's job; skipping it here also keeps the
  // compiler within the small heap that the baked V8 flags give it too.
  const ok = await deno(build, [
    "compile",
    "--quiet",
    "--no-check",
    ...build.flags,
    "--target",
    target,
    "--output",
    built,
    "main.ts",
  ], { cwd: build.dir });
  if (!ok) throw new Stop(`deno compile failed for ${target}`, EXIT_FAILED);
  if (target === build.host && run) await smokeTest(build, built);
  await Deno.copyFile(built, out);
  await Deno.chmod(out, 0o755);
  say(`built ${out}`);
}

/** The whole build; resolves to the exit status. */
export async function compile(args: string[]): Promise<number> {
  const options = parseArgs(args);
  if (typeof options === "number") return options;
  const env = Deno.env.toObject();
  // compile.sh runs this script from Deno's usual cache and hands on the
  // caller's DENO_DIR here, for deno compile.
  delete env.DENO_DIR;
  if (env.HODOMETER_DENO_DIR) env.DENO_DIR = env.HODOMETER_DENO_DIR;
  delete env.HODOMETER_DENO_DIR;
  const overrides: PathOverrides = {
    read: env.HODOMETER_ALLOW_READ,
    write: env.HODOMETER_ALLOW_WRITE,
  };
  let build: Build | undefined;
  try {
    if (options.print === "permissions") {
      const perms = permissions(overrides);
      if (perms instanceof Error) throw new Stop(perms.message, EXIT_USAGE);
      console.log(permissionsMarkdown(perms));
      return EXIT_BUILT;
    }
    if (options.print === "flags") {
      const flags = compileFlags(overrides);
      if (flags instanceof Error) throw new Stop(flags.message, EXIT_USAGE);
      console.log(flags.join("\n"));
      return EXIT_BUILT;
    }
    const host = hostTarget();
    let targets = options.targets;
    if (targets.length === 0) {
      if (host === undefined) {
        throw usage(
          `cannot tell the host's target from ${Deno.build.os} ${Deno.build.arch}: give --target`,
        );
      }
      targets = [host];
    }
    for (const t of targets) {
      if (!(TARGETS as readonly string[]).includes(t)) {
        throw usage(`unknown target ${t} (known: ${TARGETS.join(" ")})`);
      }
    }
    if (env.DENORT_BIN && targets.length > 1) {
      throw usage(
        "DENORT_BIN names the runtime of one target: build one --target at a time",
      );
    }
    const info = await stamp(env);
    const flags = compileFlags(overrides);
    if (flags instanceof Error) throw new Stop(flags.message, EXIT_USAGE);
    build = {
      dir: await Deno.makeTempDir({ prefix: "hodometer-build." }),
      info,
      flags,
      env,
      host,
    };
    const stopped = stopOnSignals(build);
    try {
      await stampedCopy(build.dir, info);
      const outDir = options.outDir.startsWith("/")
        ? options.outDir
        : `${Deno.cwd()}/${options.outDir}`;
      for (const target of targets) {
        await compileFor(build, target, outDir, options.run);
      }
      return build.stopped ?? EXIT_BUILT;
    } finally {
      stopped.dispose();
    }
  } catch (e) {
    if (build?.stopped !== undefined) return build.stopped;
    if (!(e instanceof Stop)) throw e;
    say(e.message);
    if (e.showUsage) console.error(USAGE);
    return e.status;
  } finally {
    if (build) await Deno.remove(build.dir, { recursive: true });
  }
}

/**
 * SIGINT and SIGTERM end the build (exit 130, 143): the running deno compile
 * is stopped, and the build directory removed as on any exit.
 */
function stopOnSignals(build: Build): { dispose(): void } {
  const handlers = ([["SIGINT", 130], ["SIGTERM", 143]] as const).map(
    ([signal, status]) => {
      const handler = () => {
        build.stopped ??= status;
        try {
          build.child?.kill("SIGTERM");
        } catch {
          // already gone
        }
      };
      Deno.addSignalListener(signal, handler);
      return [signal, handler] as const;
    },
  );
  return {
    dispose: () => {
      for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    },
  };
}

if (import.meta.main) {
  Deno.exit(await compile(Deno.args));
}
