// Every export of the program is documented: `deno doc --lint` over main.ts
// and src/ (the generated protobuf code aside) reports nothing. It asks for a
// doc comment on each exported symbol and on each member of an exported type,
// an explicit type on exported functions and constants, and no public
// signature naming a type that is not exported (private-type-ref).
//
// Every file is given to deno doc at once, so a type exported by any module
// counts as public; what it reports is then filtered by where it points (a
// problem inside an npm package comes from a re-export of its types, and
// counts). deno doc reads the modules and the npm packages from Deno's cache
// (traced with strace, it opens no connection), and no remote module is
// allowed. The examples in the doc comments are run too, without network.

import { assert, assertEquals } from "./assert.ts";
import { denoCommand } from "../scripts/runtime_env.ts";
import { GENERATED, programFiles } from "./program_files.ts";

const ROOT = new URL("..", import.meta.url);

/** One problem deno doc reports. */
interface DocProblem {
  /** The lint's name, e.g. `missing-jsdoc` or `private-type-ref`. */
  kind: string;
  /** What is wrong, e.g. which private type a public one names. */
  message: string;
  /** The line of code it points at, trimmed. */
  code: string;
  /** Relative to the directory deno doc ran in when inside it, else absolute. */
  file: string;
  /** Its line in `file`, from 1. */
  line: number;
}

/**
 * `error[kind]: message`, ` --> file:line:column` on the next line, then the
 * line of code it points at (`12 | export function …`), shown to say which.
 */
const PROBLEM_RE =
  /^error\[([\w-]+)\]: (.*)\n\s*--> (.+):(\d+):\d+(?:\n\s*\|[^\n]*\n\s*\d+ \| ([^\n]*))?/gm;
const TOTAL_RE = /^error: Found (\d+) documentation lint errors?\./m;

/**
 * `deno <args>` run in `dir`, to its end: its status and what it printed
 * (stderr, then stdout), without the warnings every run repeats (type
 * references of @types/node that do not resolve), each with its location.
 */
async function deno(
  args: readonly string[],
  dir: URL,
): Promise<{ code: number; text: string }> {
  const out = await denoCommand({
    args: [...args],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = (new TextDecoder().decode(out.stderr) +
    new TextDecoder().decode(out.stdout)).split("\n");
  const warning = (i: number) => /^Warning /.test(lines[i] ?? "");
  const text = lines.filter((line, i) =>
    !warning(i) && !(warning(i - 1) && /^\s+at /.test(line))
  ).join("\n");
  return { code: out.code, text };
}

/**
 * Runs `deno doc --lint` over `files` (paths relative to `dir`) and returns
 * what it reports. Throws when deno doc fails for another reason (a module
 * that does not resolve), or when its output cannot be read in full.
 */
async function docLint(
  files: readonly string[],
  dir: URL,
): Promise<DocProblem[]> {
  const { code, text } = await deno(
    ["doc", "--lint", "--no-remote", "--frozen-lockfile", ...files],
    dir,
  );
  const base = decodeURIComponent(dir.pathname);
  const problems = [...text.matchAll(PROBLEM_RE)].map((m) => ({
    kind: m[1]!,
    message: m[2]!,
    file: m[3]!.startsWith(base) ? m[3]!.slice(base.length) : m[3]!,
    line: Number(m[4]),
    code: (m[5] ?? "").trim(),
  }));
  if (code === 0 && problems.length === 0) return problems;
  const total = TOTAL_RE.exec(text);
  if (total === null || Number(total[1]) !== problems.length) {
    throw new Error(
      `deno doc --lint failed (status ${code}) or its output changed: ${problems.length} problems read, it says ${
        total?.[1] ?? "none"
      }\n${text}`,
    );
  }
  return problems;
}

const generated = (file: string) => file.startsWith(GENERATED);

const shown = (p: DocProblem) =>
  `${p.file}:${p.line}: ${p.kind}: ${p.message}: ${p.code}`;

Deno.test("every export is documented: deno doc --lint reports nothing", async () => {
  const problems = await docLint(programFiles(ROOT, [GENERATED]), ROOT);
  assertEquals(problems.filter((p) => !generated(p.file)).map(shown), []);
});

Deno.test("the examples in the doc comments compile and run, with no network", async () => {
  const files = programFiles(ROOT, [GENERATED]);
  // An example that would send or write is fenced `ts ignore`; the others run
  // here, allowed to read the environment (the settings do) and nothing more.
  const { code, text } = await deno(
    ["test", "--doc", "--no-prompt", "--allow-env", ...files],
    ROOT,
  );
  assertEquals(code, 0, text);
  // Not vacuous: the examples were found and run.
  assert(/ok \| ([1-9]\d*) passed \| 0 failed/.test(text), text);
});

Deno.test("doc lint check: an undocumented export and a private type in a public signature are found", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-doc-lint-" });
  try {
    await Deno.writeTextFile(
      `${dir}/mod.ts`,
      [
        "export function undocumented(): void {}",
        "type Hidden = number;",
        "/** Documented, but its result's type is not exported. */",
        "export function leaks(): Hidden {",
        "  return 1;",
        "}",
        "/** Documented, with every type public. */",
        "export function fine(): number {",
        "  return 1;",
        "}",
        "",
      ].join("\n"),
    );
    const problems = await docLint(["mod.ts"], new URL(`file://${dir}/`));
    const found = problems.map(({ kind, file, line }) => ({
      kind,
      file,
      line,
    }));
    assertEquals(
      found.sort((a, b) => a.line - b.line),
      [
        { kind: "missing-jsdoc", file: "mod.ts", line: 1 },
        { kind: "private-type-ref", file: "mod.ts", line: 4 },
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
