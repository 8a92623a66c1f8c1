// The yardstick of the receiver's throughput: a bare Deno.serve
// (bare_server.ts) under the shipped V8 flags, answering the reference
// collector's request with the same body as the receiver.

import { V8_FLAGS } from "../permissions.ts";
import { denoCommand } from "../runtime_env.ts";

const AGENT_V8_FLAGS = V8_FLAGS.join(",");

/** A bare server listening, and how to stop it. */
export interface BareServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Its process, for its CPU time. */
  pid: number;
  /** Stops it and waits for its exit. */
  stop(): Promise<void>;
}

/** Starts the bare server and waits until it listens. */
export async function startBare(): Promise<BareServer> {
  const child = denoCommand({
    args: [
      "run",
      "--allow-net=127.0.0.1",
      `--v8-flags=${AGENT_V8_FLAGS}`,
      new URL("./bare_server.ts", import.meta.url).pathname,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the bare server exited before listening");
    text += value;
  }
  reader.releaseLock();
  const port = JSON.parse(text.slice(0, text.indexOf("\n"))).port;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}
