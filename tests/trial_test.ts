// A trial on a host in two commands (docs/try-on-a-host.md): `deno task
// trial` starts the scheduler double with the sample cluster and stays up,
// whatever its stdin, until SIGTERM or SIGINT; the line it prints points
// `hodometer collect` at it, and that collect reports the sample's counts.

import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import { SAMPLE_COUNTS } from "./fixtures/scheduler_double.ts";
import { collectCommand, parseArgs } from "./fixtures/scheduler_double_main.ts";
import { denoCommand } from "../scripts/runtime_env.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = `${ROOT}tests/fixtures/scheduler_double_main.ts`;

interface Started {
  child: Deno.ChildProcess;
  /** The line that points `hodometer collect` at the double. */
  line: string;
  stderr: () => string;
}

/** Spawns `args` and waits for the "point hodometer at it" line. */
async function start(
  args: string[],
  stdin: "null" | "piped" = "null",
): Promise<Started> {
  const child = denoCommand({
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  (async () => {
    for await (const t of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += t;
    }
  })();
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  const until = Date.now() + 30_000;
  for (;;) {
    const m = /^point hodometer at it: (.*)$/m.exec(stderr);
    if (m) return { child, line: nth(m, 1), stderr: () => stderr };
    if (Date.now() > until) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`no "point hodometer at it" line; stderr:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether the process has ended within `ms`. */
async function endsWithin(child: Deno.ChildProcess, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = await Promise.race([
    child.status.then(() => true),
    new Promise<false>((r) => timer = setTimeout(() => r(false), ms)),
  ]);
  clearTimeout(timer);
  return ended;
}

async function refuses(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch (e) {
    return e instanceof Deno.errors.ConnectionRefused;
  }
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`deno task trial: stays up with stdin /dev/null, its line points collect at the sample cluster, ${signal} stops it`, async () => {
    const { child, line, stderr } = await start(["task", "trial"]);
    try {
      const m =
        /^SCHEDULER_HOST=(\S+) SCHEDULER_PORT=(\d+) deno task hodometer collect$/
          .exec(line);
      assert(m, line);
      const [host, port] = [nth(m, 1), Number(nth(m, 2))];
      assertEquals(line, collectCommand(port));
      assertMatch(
        stderr(),
        new RegExp(`the sample cluster \\(.*\\) on 127\\.0\\.0\\.1:${port}`),
      );
      // Under nohup, systemd or a CI step stdin is /dev/null: it used to
      // end at once; it must not end by itself at all.
      assertEquals(await endsWithin(child, 1_500), false, stderr());
      const collect = await hodometer(["collect"], {
        SCHEDULER_HOST: host,
        SCHEDULER_PORT: port.toString(),
      });
      assertEquals(collect.code, 0, collect.stderr);
      const event = JSON.parse(collect.stdout);
      for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
        assertEquals(event.properties[name], value, name);
      }
      child.kill(signal);
      assert(await endsWithin(child, 10_000), `no exit after ${signal}`);
      const status = await child.status;
      assertEquals([status.success, status.code], [true, 0], stderr());
      assert(await refuses(port), "the double still listens");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
      await child.status;
    }
  });
}

Deno.test("scheduler double: --exit-with-stdin ends it when its parent closes its stdin, and only then", async () => {
  const { child, line } = await start([
    "run",
    "--allow-net=127.0.0.1",
    "--allow-env",
    "--no-prompt",
    MAIN,
    "--exit-with-stdin",
    "--models",
    "20",
  ], "piped");
  try {
    const port = Number(/SCHEDULER_PORT=(\d+)/.exec(line)?.[1]);
    assertEquals(await endsWithin(child, 500), false);
    await child.stdin.close();
    assert(await endsWithin(child, 10_000), "stdin closed, still running");
    assertEquals((await child.status).code, 0);
    assert(await refuses(port));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await child.status;
  }
});

Deno.test("scheduler double: its command line, and bad input named", () => {
  assertEquals(parseArgs([]), {
    port: 0,
    exitWithStdin: false,
    help: false,
  });
  assertEquals(parseArgs(["--port", "9004", "--models", "100000"]), {
    port: 9004,
    exitWithStdin: false,
    help: false,
    scale: {
      models: 100_000,
      servers: 100,
      replicas: 3,
      pipelines: 100,
      experiments: 10,
      modelPadding: 0,
    },
  });
  const bad: [string[], string][] = [
    [["--nodes", "3"], "unknown option --nodes"],
    [["--models", "-1"], "--models needs a whole number ≥ 0, not -1"],
    [["--models"], "--models needs a whole number ≥ 0, not nothing"],
    [["--port", "70000"], "--port 70000 is not a port (0-65535)"],
  ];
  for (const [args, message] of bad) {
    const parsed = parseArgs(args);
    assert(parsed instanceof Error, args.join(" "));
    assertEquals(parsed.message, message);
  }
});
