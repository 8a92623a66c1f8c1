// The README cannot rot silently: its generated tables equal what the code
// generates, and every hodometer command line it shows names a real
// subcommand with options that subcommand has.

import { assert, assertEquals, nth } from "./assert.ts";
import { normalizeTables, renderReadme } from "../scripts/generate.ts";
import { knownOptions } from "./command_options.ts";

const readme = await Deno.readTextFile(
  new URL("../README.md", import.meta.url),
);

Deno.test("the README's generated tables match the code (run `deno task generate` to fix)", () => {
  assertEquals(normalizeTables(readme), normalizeTables(renderReadme(readme)));
});

function commandLines(text: string): string[][] {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    nth(m, 1)
  );
  const lines: string[][] = [];
  for (const block of blocks) {
    for (const raw of block.split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      const m =
        /(?:^|\s|\.\/)(?:hodometer|task hodometer|dist\/hodometer-\S+)\s+(.*)$/
          .exec(line);
      if (m && !line.startsWith("docker build")) {
        lines.push(nth(m, 1).split(/\s+/));
      }
    }
  }
  return lines;
}

Deno.test("every hodometer command in the README names a real subcommand and real options", () => {
  const lines = commandLines(readme);
  assert(lines.length >= 6, `only ${lines.length} command lines found`);
  for (const [name = "", ...args] of lines) {
    const known = knownOptions(name);
    assert(known !== undefined, `README runs unknown command ${name}`);
    for (const arg of args.filter((a) => a.startsWith("--"))) {
      assert(known.has(arg), `README: hodometer ${name} has no option ${arg}`);
    }
  }
});
