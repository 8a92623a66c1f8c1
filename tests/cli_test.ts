// The command line as a user meets it: a real process of main.ts.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "./assert.ts";
import { SETTINGS } from "../src/config/settings.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";

Deno.test("version prints version, git commit and runtime", async () => {
  const r = await hodometer(["version"]);
  assertEquals(r.code, 0);
  assertMatch(
    r.stdout,
    /^hodometer \S+\ngit commit: \S+\nruntime: deno \d+\.\d+\.\d+/,
  );
});

Deno.test("help of a subcommand lists each option with its variable and default", async () => {
  const r = await hodometer(["receive", "--help"]);
  assertEquals(r.code, 0);
  const help = r.stdout.replace(/\s+/g, " ");
  for (const key of ["listenPort", "recordLevel", "logLevel"] as const) {
    const def = SETTINGS[key];
    assertStringIncludes(help, `--${def.flag}`);
    assertStringIncludes(help, `env ${def.env}`);
  }
  assertStringIncludes(help, "default 8001");
});

Deno.test("every invalid setting is reported at once with exit status 2", async () => {
  const r = await hodometer(["receive", "--record-level", "loud"], {
    LISTEN_PORT: "http",
    LOG_LEVEL: "chatty",
  });
  assertEquals(r.code, 2);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 3, r.stderr);
  assert(
    lines.some((l) =>
      /LOG_LEVEL="chatty" is not valid: expected one of trace/.test(l)
    ),
  );
  assert(
    lines.some((l) =>
      /LISTEN_PORT="http" is not valid: expected a whole number/.test(l)
    ),
  );
  assert(
    lines.some((l) =>
      /RECORD_LEVEL="loud" \(given as --record-level\) is not valid/.test(l)
    ),
  );
  assertEquals(r.stdout, "");
});

Deno.test("an unknown flag or command is a usage error with exit status 2", async () => {
  assertEquals((await hodometer(["receive", "--no-such-flag"])).code, 2);
  assertEquals((await hodometer(["no-such-command"])).code, 2);
});
