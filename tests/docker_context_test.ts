// The image builds: every path the Dockerfile copies from the build context,
// and every file its build stage runs or imports, is in the context that
// .dockerignore leaves, matched by Docker's own rules (@balena/dockerignore, a
// port of Moby's matcher, case-sensitive as Docker is), and is brought in by a
// COPY. What the build stage needs is derived, not listed: the scripts its RUN
// lines name, the Deno scripts those run, Deno's module graph of each and of
// main.ts (the program the build compiles), and the config Deno reads.
// Where a Docker engine answers, `docker build` runs for real.

import dockerignore from "@balena/dockerignore";
import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import { denoCommand } from "../scripts/runtime_env.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const read = (path: string) => Deno.readTextFileSync(`${ROOT}${path}`);

/** The program the build stage compiles (scripts/compile.ts compiles main.ts). */
const PROGRAM = "main.ts";
/** What Deno reads besides modules for any command run in the repository. */
const DENO_CONFIG = ["deno.json", "deno.lock"];

/** One instruction of a Dockerfile, continuation lines joined. */
interface Instruction {
  /** The stage it belongs to: its `AS` name, else its index. */
  stage: string;
  keyword: string;
  args: string;
}

/** A Dockerfile's instructions, without comments, continuations joined. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = "";
  let stages = 0;
  let pending = "";
  for (const raw of text.split("\n")) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, "");
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    const m = /^(\w+)\s+(.*)$/s.exec(whole);
    if (!m) continue;
    const keyword = nth(m, 1).toUpperCase();
    const args = nth(m, 2).replace(/\s+/g, " ");
    if (keyword === "FROM") {
      stage = /\sAS\s+(\S+)/i.exec(args)?.[1] ?? String(stages);
      stages++;
    }
    out.push({ stage, keyword, args });
  }
  return out;
}

/** The context paths a COPY or ADD takes (none when it copies from a stage or an image). */
function copySources(instruction: Instruction): string[] {
  if (!["COPY", "ADD"].includes(instruction.keyword)) return [];
  const words = instruction.args.startsWith("[")
    ? JSON.parse(instruction.args) as string[]
    : instruction.args.split(" ");
  if (words.some((w) => w.startsWith("--from="))) return [];
  const paths = words.filter((w) => !w.startsWith("--"));
  return paths.slice(0, -1).map((p) =>
    p.replace(/^\.\//, "").replace(/\/$/, "")
  );
}

/** Every file under `dir` of the repository (relative paths). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of Deno.readDirSync(`${ROOT}${rel}`)) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else out.push(path);
    }
  };
  walk(dir);
  return out.sort();
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(`${ROOT}${path}`).isDirectory;
  } catch {
    return false;
  }
}

/** The repository's own modules in Deno's module graph of `entry`. */
async function localModules(entry: string): Promise<string[]> {
  const out = await denoCommand({
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const root = new URL(ROOT, "file://").href;
  return graph.modules.map((m) => m.specifier)
    .filter((s) => s.startsWith(root))
    .map((s) => decodeURIComponent(s.slice(root.length)));
}

/** Repository paths a script's text runs (`scripts/x.ts`, `$ROOT/scripts/y.sh`). */
function scriptsNamed(text: string): string[] {
  return [...text.matchAll(/(?:^|[\s"'/=])(scripts\/[\w./-]+\.(?:sh|ts))\b/g)]
    .map((m) => nth(m, 1));
}

/**
 * What the build stage (the stage that RUNs) needs from the context: the
 * scripts its RUN lines name, the scripts those name in turn, every local
 * module of each Deno script and of the program, and Deno's config.
 */
async function buildStageNeeds(
  steps: Instruction[],
): Promise<Map<string, string>> {
  const needs = new Map<string, string>();
  const scripts = steps.filter((i) => i.keyword === "RUN")
    .flatMap((i) => scriptsNamed(i.args).map((s) => [s, `RUN ${s}`]));
  const seen = new Set<string>();
  const queue: [string, string][] = [...scripts as [string, string][], [
    PROGRAM,
    "the program the build compiles",
  ]];
  while (queue.length > 0) {
    const [path, why] = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    needs.set(path, why);
    if (path.endsWith(".sh")) {
      for (const s of scriptsNamed(read(path))) {
        queue.push([s, `run by ${path}`]);
      }
    } else {
      for (const m of await localModules(path)) {
        if (m !== path) queue.push([m, `imported from ${path}'s graph`]);
      }
    }
  }
  for (const c of DENO_CONFIG) needs.set(c, "Deno's config and lock file");
  return needs;
}

/** The files a COPY source brings: the file, or every file of a directory. */
function copiedFiles(sources: string[]): Set<string> {
  return new Set(
    sources.flatMap((s) => isDirectory(s) ? filesUnder(s) : [s]),
  );
}

/** Docker's matcher for a .dockerignore text: true when a path stays in the context. */
function dockerContext(text: string): (path: string) => boolean {
  // A CommonJS module whose types declare `export default`: the factory is
  // `.default` to the type checker, and the package sets it at run time too.
  return dockerignore.default({ ignorecase: false }).add(text).createFilter();
}

Deno.test("the .dockerignore matcher follows Docker's documented rules", () => {
  const kept = (rules: string, paths: string[]) =>
    paths.filter(dockerContext(rules));
  // The last line that matches a path decides; `!` makes an exception.
  assertEquals(
    kept("*.md\n!README*.md\nREADME-secret.md", [
      "README.md",
      "README-secret.md",
      "CHANGES.md",
    ]),
    ["README.md"],
  );
  assertEquals(
    kept("*.md\nREADME-secret.md\n!README*.md", [
      "README.md",
      "README-secret.md",
      "CHANGES.md",
    ]),
    ["README.md", "README-secret.md"],
  );
  // A pattern that names a directory takes everything under it, and an
  // exception for a directory (trailing slash or not) brings it all back.
  assertEquals(kept("src", ["src/a.ts", "src/b/c.ts", "srcx"]), ["srcx"]);
  assertEquals(
    kept("*\n!src/", ["src/a.ts", "src/b/c.ts", "scripts/a.ts", "main.ts"]),
    ["src/a.ts", "src/b/c.ts"],
  );
  // `*` is one level (like a glob), `**` any number; matching is
  // case-sensitive, as Docker's is.
  assertEquals(
    kept("*/temp*", ["temp", "somedir/temporary.txt", "a/b/temp"]),
    ["temp", "a/b/temp"],
  );
  assertEquals(kept("**/*.go", ["a.go", "x/y/b.go", "c.ts"]), ["c.ts"]);
  assertEquals(kept("*.MD", ["README.md"]), ["README.md"]);
  // Only a listed file comes back from under an excluded directory.
  assertEquals(
    kept("*\n!scripts/compile.sh", [
      "scripts/compile.sh",
      "scripts/compile.ts",
    ]),
    ["scripts/compile.sh"],
  );
});

Deno.test("Dockerfile reading: stages, COPY sources, continuations, scripts a line runs", () => {
  const steps = instructions(
    "# c\nFROM a AS build\nCOPY x y ./\nCOPY --chown=1:1 src ./src/\n" +
      "RUN echo \\\n && bash scripts/b.sh --x\nFROM b\nCOPY --from=build /o /o\n",
  );
  assertEquals(steps.map((s) => [s.stage, s.keyword]), [
    ["build", "FROM"],
    ["build", "COPY"],
    ["build", "COPY"],
    ["build", "RUN"],
    ["1", "FROM"],
    ["1", "COPY"],
  ]);
  assertEquals(steps.map(copySources), [[], ["x", "y"], ["src"], [], [], []]);
  assertEquals(scriptsNamed(nth(steps, 3).args), ["scripts/b.sh"]);
  assertEquals(
    scriptsNamed('exec deno run "$ROOT/scripts/compile.ts" "$@"'),
    ["scripts/compile.ts"],
  );
});

Deno.test("the image's build context holds everything the Dockerfile copies and the build stage runs", async () => {
  const steps = instructions(read("Dockerfile"));
  const inContext = dockerContext(read(".dockerignore"));
  const sources = steps.flatMap(copySources);
  assert(sources.length > 0, "the Dockerfile copies nothing from the context");
  const missing = sources.filter((s) =>
    !isDirectory(s) && !Deno.statSync(`${ROOT}${s}`).isFile
  );
  assertEquals(missing, [], "COPY sources that do not exist");
  const copied = copiedFiles(sources);
  const building = new Set(
    steps.filter((s) => s.keyword === "RUN").map((s) => s.stage),
  );
  assertEquals(building.size, 1, "one stage builds");
  const needs = await buildStageNeeds(
    steps.filter((s) => building.has(s.stage)),
  );
  for (const path of ["scripts/compile.sh", "scripts/compile.ts", PROGRAM]) {
    assert(needs.has(path), `${path} not found among the build's needs`);
  }
  const problems: string[] = [];
  for (const path of [...copied].sort()) {
    if (!inContext(path)) {
      problems.push(
        `${path}: copied by the Dockerfile, excluded by .dockerignore`,
      );
    }
  }
  for (const [path, why] of [...needs].sort()) {
    if (!inContext(path)) {
      problems.push(`${path} (${why}): excluded by .dockerignore`);
    } else if (!copied.has(path)) {
      problems.push(`${path} (${why}): no COPY of the build stage brings it`);
    }
  }
  assertEquals(problems, []);
});

/** Why `docker build` cannot run here, or null when an engine answers. */
async function noDockerEngine(): Promise<string | null> {
  try {
    const out = await new Deno.Command("docker", {
      args: ["info", "--format", "{{.ServerVersion}}"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000),
    }).output();
    if (out.success) return null;
    const said = new TextDecoder().decode(out.stderr).trim().split("\n");
    return `no Docker engine answers (docker info: ${said.at(-1)})`;
  } catch (e) {
    return e instanceof Deno.errors.NotFound
      ? "no docker command"
      : `docker info failed: ${e}`;
  }
}

const noEngine = await noDockerEngine();
if (noEngine) {
  console.log(`docker_context_test: SKIPPED "docker build": ${noEngine}`);
}

Deno.test({
  name: "docker build: the image builds and its binary says its version",
  ignore: noEngine !== null,
  fn: async () => {
    const tag = `hodometer-context-test:${crypto.randomUUID().slice(0, 8)}`;
    const docker = (args: string[]) =>
      new Deno.Command("docker", {
        args,
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    const build = await docker([
      "build",
      "--build-arg",
      "VERSION=0.0.0-context-test",
      "--build-arg",
      "GIT_COMMIT=context-test",
      "-t",
      tag,
      ".",
    ]);
    try {
      assert(build.success, new TextDecoder().decode(build.stderr));
      const run = await docker(["run", "--rm", tag, "version"]);
      assert(run.success, new TextDecoder().decode(run.stderr));
      assertMatch(
        new TextDecoder().decode(run.stdout),
        /^hodometer 0\.0\.0-context-test\ngit commit: context-test\n/,
      );
    } finally {
      await docker(["rmi", "--force", tag]);
    }
  },
});
