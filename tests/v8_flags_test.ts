// The V8 flags are decided once (scripts/permissions.ts); the task that runs
// hodometer from source uses the same ones as the binary.

import { assertStringIncludes } from "./assert.ts";
import { V8_FLAGS } from "../scripts/permissions.ts";

Deno.test("deno task hodometer runs with the binary's V8 flags", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  assertStringIncludes(
    config.tasks.hodometer,
    ` --v8-flags=${V8_FLAGS.join(",")} main.ts`,
  );
});
