// The limit section's pure parts: the bundle's dynamic imports made opaque to
// `deno run` (and still loading), and when a run counts as thrashing.

import { assert, assertEquals } from "./assert.ts";
import { opaqueDynamicImports } from "../scripts/bench/pod_image.ts";
import { THRASH, thrashes } from "../scripts/bench/memory_limit.ts";

Deno.test("opaqueDynamicImports rewrites a chunk's relative dynamic imports only", () => {
  const code = [
    'import { a } from "./chunk-A.js";',
    'const run = () => import("./run_command-X.js");',
    'const z = await import("node:zlib");',
    'const k = import("./kube-Y.js").then((m) => m.k);',
  ].join("\n");
  assertEquals(
    opaqueDynamicImports(code),
    [
      'import { a } from "./chunk-A.js";',
      'const run = () => import(import.meta.resolve("./run_command-X.js"));',
      'const z = await import("node:zlib");',
      'const k = import(import.meta.resolve("./kube-Y.js")).then((m) => m.k);',
    ].join("\n"),
  );
});

Deno.test("a chunk whose dynamic import was made opaque still loads it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-opaque-" });
  try {
    await Deno.writeTextFile(`${dir}/lazy.js`, "export const answer = 42;\n");
    await Deno.writeTextFile(
      `${dir}/main.js`,
      opaqueDynamicImports(
        'export const load = async () => (await import("./lazy.js")).answer;\n',
      ),
    );
    const main = await import(`file://${dir}/main.js`);
    assertEquals(await main.load(), 42);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run thrashes past THRASH times the unconstrained faults plus its slack", () => {
  const baseline = 500;
  const edge = THRASH.factor * baseline + THRASH.slack;
  assert(!thrashes(edge, baseline));
  assert(thrashes(edge + 1, baseline));
  assert(!thrashes(THRASH.slack, 0), "a cold start's own reading");
  assert(thrashes(38_000, 530), "100 000 models pod cold at 32 MiB");
});
