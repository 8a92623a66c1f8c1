// Test what ships: hodometer's permissions and V8 flags are decided once
// (scripts/permissions.ts); the binary is compiled with them, and every path a
// user or a test runs main.ts by (deno task hodometer, the demo, the bench,
// process tests) uses exactly the same ones, never broader.

import { assert, assertEquals } from "./assert.ts";
import {
  compileFlags,
  shippedRunArgs,
  shippedTask,
  V8_FLAGS,
} from "../scripts/permissions.ts";

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

Deno.test("shipped: deno task hodometer is main.ts as shipped (run `deno task generate` to fix)", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const tasks = config.tasks as Record<string, string>;
  assertEquals(tasks.hodometer, shippedTask());
  for (const [name, task] of Object.entries(tasks)) {
    if (/\bmain\.ts\b/.test(task)) {
      assertEquals(task, shippedTask(), `task ${name} runs main.ts`);
    }
  }
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
