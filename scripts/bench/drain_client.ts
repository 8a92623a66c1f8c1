// The floor for `hodometer collect`: a bare @grpc/grpc-js client that drains
// the same five scheduler calls and decodes nothing.
//
//   deno run --allow-net --allow-env --allow-read scripts/bench/drain_client.ts HOST PORT
//
// Prints {"messages":N,"drainMs":T} on stdout.

import { Client, credentials } from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import { SchedulerService } from "../../src/proto/generated/scheduler.ts";

const [host, port] = Deno.args;
const client = new Client(`${host}:${port}`, credentials.createInsecure(), {
  "grpc.enable_retries": 0,
});
const asBytes = (b: Buffer) => b;
const sub = { subscriberName: "hodometer" };

function stream(
  method: { path: string; requestSerialize: (v: never) => Buffer },
  request: unknown,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = client.makeServerStreamRequest(
      method.path,
      method.requestSerialize as (v: unknown) => Buffer,
      asBytes,
      request,
    );
    let n = 0;
    call.on("data", () => n++);
    call.on("error", reject);
    call.on("end", () => resolve(n));
  });
}

const s = SchedulerService;
const t0 = performance.now();
const counts = await Promise.all([
  new Promise<number>((resolve, reject) =>
    client.makeUnaryRequest(
      s.schedulerStatus.path,
      s.schedulerStatus.requestSerialize as (v: unknown) => Buffer,
      asBytes,
      sub,
      (error) => error ? reject(error) : resolve(1),
    )
  ),
  stream(s.serverStatus, sub),
  stream(s.modelStatus, { ...sub, allVersions: false }),
  stream(s.pipelineStatus, { ...sub, allVersions: true }),
  stream(s.experimentStatus, sub),
]);
const drainMs = performance.now() - t0;
client.close();
console.log(JSON.stringify({
  messages: counts.reduce((a, b) => a + b, 0),
  drainMs: Math.round(drainMs),
}));
