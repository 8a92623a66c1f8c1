// The command line as a user meets it: a real process of main.ts.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  nth,
} from "./assert.ts";
import { COMMANDS } from "../src/commands.ts";
import { SETTINGS } from "../src/config/settings.ts";
import { HELP_WIDTH } from "../src/help_layout.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import { REFUSING_PORT } from "./fixtures/refused.ts";

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

Deno.test("--version and -V print what version prints", async () => {
  const version = await hodometer(["version"]);
  for (const flag of ["--version", "-V"]) {
    const r = await hodometer([flag]);
    assertEquals([r.code, r.stdout, r.stderr], [0, version.stdout, ""], flag);
  }
});

Deno.test("help and help <command> exit 0 with the text of --help", async () => {
  const pairs: Array<[string[], string[]]> = [
    [["help"], ["--help"]],
    [["help", "collect"], ["collect", "--help"]],
  ];
  for (const [asHelp, asFlag] of pairs) {
    const a = await hodometer(asHelp);
    const b = await hodometer(asFlag);
    assertEquals(a.code, 0, asHelp.join(" "));
    assertEquals(a.stdout, b.stdout);
    assertStringIncludes(a.stdout, "Usage: hodometer");
  }
});

Deno.test("an unknown flag or command: the error and a one-line hint, exit status 2", async () => {
  const cases: [string[], string, string][] = [
    [
      ["receive", "--no-such-flag"],
      "hodometer receive: unknown option '--no-such-flag'",
      "see 'hodometer receive --help'",
    ],
    [
      ["run", "--levl", "cluster"],
      "hodometer run: unknown option '--levl'",
      "see 'hodometer run --help'",
    ],
    [
      ["no-such-command"],
      "hodometer: unknown command 'no-such-command'",
      "see 'hodometer --help'",
    ],
    [
      ["version", "extra"],
      "hodometer version: too many arguments",
      "see 'hodometer version --help'",
    ],
  ];
  for (const [args, error, hint] of cases) {
    const r = await hodometer(args);
    assertEquals(r.code, 2, args.join(" "));
    assertEquals(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    // the error, at most one suggestion ("Did you mean --level?"), the hint
    assert(lines.length <= 3, r.stderr);
    assert(nth(lines, 0).startsWith(error), r.stderr);
    assertEquals(lines.at(-1), hint);
  }
});

Deno.test("--help of every command: no line over 100 columns, exit statuses listed", async () => {
  for (const command of ["", ...COMMANDS.map((c) => c.name)]) {
    const r = await hodometer(command ? [command, "--help"] : ["--help"]);
    assertEquals(r.code, 0, command);
    const widest = Math.max(...r.stdout.split("\n").map((l) => l.length));
    assert(widest <= HELP_WIDTH, `${command}: a line of ${widest} columns`);
    assertMatch(r.stdout, /\nExit status:\n {2}0 {2}/);
  }
  const collect = await hodometer(["collect", "--help"]);
  assertMatch(collect.stdout, /\n {2}3 {2}a source .* could not be read/);
});

Deno.test("JSON logs: one object a line, the message without extra quotes", async () => {
  const r = await hodometer(["collect", "--log-format", "json"], {
    SCHEDULER_HOST: "127.0.0.1",
    SCHEDULER_PORT: String(REFUSING_PORT),
    // Long enough for every source to make all its attempts (3.1 s of
    // backoff), so each fails with the same cause, however busy the machine.
    SCHEDULER_TIMEOUT: "10s",
  });
  const lines = r.stderr.trim().split("\n").map((l) => JSON.parse(l));
  const failure = lines.find((l) => l.properties.failure !== undefined);
  assert(failure, r.stderr);
  assertEquals(failure.message, failure.properties.failure);
  assertMatch(failure.message, /^scheduler status, servers/);
});
