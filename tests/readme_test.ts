import { assertEquals } from "./assert.ts";
import { normalizeTables, renderReadme } from "../scripts/readme_tables.ts";

Deno.test("the README's generated tables match the code (run `deno task readme` to fix)", async () => {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  assertEquals(normalizeTables(readme), normalizeTables(renderReadme(readme)));
});
