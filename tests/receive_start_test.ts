// `hodometer receive` starting up, as shipped: what it says about its store.

import { assert, assertStringIncludes } from "./assert.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";

Deno.test("a new SQLite store is logged as created; reopened, nothing is said of its schema", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-store-" });
  const args = ["--record-level", "all", "--store", `${dir}/events.db`];
  try {
    const first = await startReceiverProcess({ args });
    await first.stop();
    const created = first.stderr();
    assertStringIncludes(created, "events.db: created (schema version");
    assert(!created.includes("migrated"), created);

    const again = await startReceiverProcess({ args });
    await again.stop();
    assert(!again.stderr().includes("created ("), again.stderr());
    assert(!again.stderr().includes("migrated"), again.stderr());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
