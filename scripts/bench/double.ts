// The scheduler as a child process, so that its work is not counted in the
// measured one: the benchmark's batched scheduler (batched_main.ts, under
// Node.js when there is one, else Deno) or the grpc-js test double
// (tests/fixtures/scheduler_double_main.ts).

import {
  scaleArgs,
  type ScaleOptions,
} from "../../tests/fixtures/scheduler_double.ts";
import { denoCommand, RUNTIME_ENV } from "../runtime_env.ts";

const DOUBLE_MAIN = new URL(
  "../../tests/fixtures/scheduler_double_main.ts",
  import.meta.url,
).pathname;
const BATCHED_MAIN = new URL("./batched_main.ts", import.meta.url).pathname;

export interface DoubleProcess {
  port: number;
  /** Which program serves: "batched (node)", "batched (deno)" or "double". */
  kind: string;
  stop(): Promise<void>;
}

let nodeBundle: Promise<string | null> | undefined;

/** batched_main.ts bundled for Node.js, once per benchmark; null without node. */
function bundledForNode(): Promise<string | null> {
  nodeBundle ??= (async () => {
    // Without a `node` on PATH, Deno runs "node" commands itself: ask.
    try {
      const v = await new Deno.Command("node", {
        args: ["-e", "process.stdout.write(typeof Deno)"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!v.success || new TextDecoder().decode(v.stdout) !== "undefined") {
        return null;
      }
    } catch {
      return null;
    }
    const dir = await Deno.makeTempDir({ prefix: "hodometer-bench-node-" });
    const out = `${dir}/batched_main.mjs`;
    const built = await denoCommand({
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "deno",
        "-o",
        out,
        BATCHED_MAIN,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!built.success) {
      console.error(
        `bench: cannot bundle the scheduler for Node.js; using Deno: ${
          new TextDecoder().decode(built.stderr)
        }`,
      );
      return null;
    }
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
    return out;
  })();
  return nodeBundle;
}

export async function startDoubleProcess(
  scale: ScaleOptions,
  options: { batched?: boolean } = {},
): Promise<DoubleProcess> {
  const args = scaleArgs(scale);
  let command: string;
  let kind: string;
  if (options.batched) {
    const bundle = await bundledForNode();
    command = bundle ?? Deno.execPath();
    kind = bundle ? "batched (node)" : "batched (deno)";
    args.unshift(
      ...(bundle ? [bundle] : ["run", "--allow-net=127.0.0.1", BATCHED_MAIN]),
    );
    if (bundle) command = "node";
  } else {
    command = Deno.execPath();
    kind = "double";
    args.unshift(
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      DOUBLE_MAIN,
      "--exit-with-stdin",
    );
  }
  const child = new Deno.Command(command, {
    args,
    env: RUNTIME_ENV,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stop = async () => {
    try {
      await child.stdin.close();
    } catch { /* already closed */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 3_000);
    await child.status;
    clearTimeout(timer);
  };
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("the scheduler exited before listening");
      text += value;
    }
    const port = JSON.parse(text.slice(0, text.indexOf("\n"))).port;
    if (!Number.isInteger(port)) throw new Error(`bad port line: ${text}`);
    // Keep reading so the pipe never fills.
    (async () => {
      try {
        while (!(await lines.read()).done) { /* discard */ }
      } catch { /* closed */ }
    })();
    return { port, kind, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
