// Test what ships: hodometer's permissions and V8 flags are decided once
// (scripts/permissions.ts); the binary is compiled with them, and every path a
// user or a test runs main.ts by (deno task hodometer, the demo, the bench,
// process tests) uses exactly the same ones, never broader.

import { assert, assertEquals } from "./assert.ts";
import { denoCommand } from "../scripts/runtime_env.ts";
import {
  compileFlags,
  shippedRunArgs,
  shippedTask,
  shippedTaskArgs,
  V8_FLAGS,
} from "../scripts/permissions.ts";
import { HERMETIC_ENV } from "./fixtures/hodometer_process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function sources(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(`${ROOT}${path}`)) {
      const rel = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(rel);
      else if (/\.(ts|sh)$/.test(entry.name)) {
        out.set(rel, await Deno.readTextFile(`${ROOT}${rel}`));
      }
    }
  };
  await walk(dir);
  return out;
}

Deno.test("shipped: process runs get exactly the binary's flags, and nothing broad", () => {
  const flags = compileFlags();
  assert(!(flags instanceof Error));
  const args = shippedRunArgs("/x/main.ts");
  assertEquals(args, ["run", ...flags, "/x/main.ts"]);
  assert(flags.includes(`--v8-flags=${V8_FLAGS.join(",")}`));
  for (const flag of flags) {
    assert(
      !/^(-A|--allow-all|--allow-run|--allow-ffi)\b/.test(flag),
      `${flag} is broader than hodometer needs`,
    );
    // The memory limit only (src/runtime/cgroup_memory.ts).
    if (flag.startsWith("--allow-sys")) {
      assertEquals(flag, "--allow-sys=systemMemoryInfo");
    }
  }
});

/** `deno <args>` run in the repository, in the tests' hermetic environment. */
async function deno(
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  const out = await denoCommand({
    args,
    cwd: ROOT,
    env: HERMETIC_ENV,
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  const result = {
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
  assert(out.success, `deno ${args.join(" ")} failed:\n${result.stderr}`);
  return result;
}

Deno.test("shipped: deno task hodometer is main.ts as shipped (run `deno task generate` to fix)", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const tasks = config.tasks as Record<string, string>;
  assertEquals(tasks.hodometer, shippedTask());
  for (const [name, task] of Object.entries(tasks)) {
    assert(!/\bmain\.ts\b/.test(task), `task ${name} names main.ts itself`);
  }
  // The task takes its arguments from what scripts/permissions.ts prints.
  const inner = /^deno run \$\(deno (.+)\)$/.exec(shippedTask());
  assert(inner?.[1], `the task is not deno run $(deno …): ${shippedTask()}`);
  const { stdout } = await deno(inner[1].split(" "));
  assertEquals(stdout.trim().split(/\s+/), shippedTaskArgs());
  assertEquals(shippedTaskArgs(), [...compileFlags() as string[], "main.ts"]);
});

Deno.test("shipped: deno task hodometer --help prints no line over 100 characters", async () => {
  const { stdout, stderr } = await deno(["task", "hodometer", "--help"]);
  const lines = `${stderr}\n${stdout}`.split("\n");
  assertEquals(lines.filter((l) => l.length > 100), []);
  assert(stdout.includes("Usage: hodometer"), stdout);
});

/** The pids whose parent is `pid`, read from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid …: comm may hold spaces and parentheses.
      const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
      if (Number(ppid) === pid) children.push(Number(entry.name));
    } catch {
      // the process ended while being read
    }
  }
  return children;
}

/** Reads until the text so far matches `pattern`; that text. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    while (!pattern.test(text)) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === "timeout" || next.done) {
        throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${text}`);
      }
      text += next.value;
    }
    return text;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name:
    "shipped: deno task hodometer echoes one short line and runs main.ts with exactly the binary's flags",
  ignore: Deno.build.os !== "linux", // the running process is read from /proc
  async fn() {
    // The settings by their variables: the echoed line is the task's own.
    const env = {
      LISTEN_HOST: "127.0.0.1",
      LISTEN_PORT: "0",
      RECORD_LEVEL: "none",
    };
    const args = ["receive"];
    const task = denoCommand({
      args: ["task", "hodometer", ...args],
      cwd: ROOT,
      env: { ...HERMETIC_ENV, ...env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = task.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    try {
      const logs = await readUntil(reader, /listening on http/, 30_000);
      const echoed = logs.split("\n")[0] ?? "";
      const quoted = args.map((a) => `'${a}'`).join(" ");
      assertEquals(echoed, `Task hodometer ${shippedTask()} ${quoted}`);
      assert(echoed.length <= 100, `${echoed.length} characters: ${echoed}`);

      const [child, ...more] = childrenOf(task.pid);
      assert(child !== undefined && more.length === 0, "one process runs");
      const argv = Deno.readTextFileSync(`/proc/${child}/cmdline`)
        .split("\0").slice(1, -1);
      assertEquals(argv, ["run", ...shippedTaskArgs(), ...args]);
    } finally {
      task.kill("SIGTERM"); // deno task hands it on to hodometer
      const status = await task.status;
      await reader.cancel();
      assertEquals(status.code, 0);
    }
  },
});

Deno.test("shipped: no test or script starts a process with -A or --allow-all, and main.ts only as shipped", async () => {
  const files = new Map([
    ...await sources("tests"),
    ...await sources("scripts"),
  ]);
  const self = "tests/shipped_test.ts";
  const broad = /["'`]-A["'`]|--allow-all|\s-A\s/;
  // A path to the product's entry point: "../main.ts", `${ROOT}main.ts`.
  const mainPath = /[/}]main\.ts["'`]/;
  for (const [path, text] of files) {
    if (path === self) continue;
    assert(!broad.test(text), `${path} grants -A or --allow-all`);
    if (
      path.endsWith(".ts") && mainPath.test(text) &&
      path !== "scripts/permissions.ts"
    ) {
      assert(
        text.includes("shippedRunArgs("),
        `${path} names main.ts but does not run it through shippedRunArgs`,
      );
    }
  }
});
