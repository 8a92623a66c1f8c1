// The batched scheduler as its own process, written against node: APIs only
// so that the benchmark can run it under Node.js (bundled with `deno bundle`)
// as well as under Deno. Deno 2.9's native HTTP/2 server can abort on an
// nghttp2 assertion when a client's GOAWAY arrives; under Node.js it cannot,
// and the measured client never shares a runtime bug with its server.
//
//   <runtime> batched_main --models N --servers N --replicas N --pipelines N
//             --experiments N --model-padding N
//
// Prints {"port":N} once listening; stops on SIGTERM or the end of stdin.

import process from "node:process";
import { startBatchedScheduler } from "./batched_scheduler.ts";
import {
  DEFAULT_SCALE,
  SCALE_FLAGS,
} from "../../tests/fixtures/scheduler_double.ts";

const args = process.argv.slice(2);
const scale = { ...DEFAULT_SCALE };
for (let i = 0; i < args.length; i += 2) {
  const key = SCALE_FLAGS[args[i] ?? ""];
  const value = Number(args[i + 1]);
  if (key === undefined || !Number.isInteger(value) || value < 0) {
    console.error(`batched scheduler: bad option ${args[i]} ${args[i + 1]}`);
    process.exit(2);
  }
  scale[key] = value;
}
const server = await startBatchedScheduler(scale);
console.log(JSON.stringify({ port: server.port }));
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
