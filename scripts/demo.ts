// The README's main command (`deno task demo`): hodometer's whole job on
// loopback. It starts a scheduler double holding a small sample cluster and
// a real `hodometer receive`, runs `hodometer run --once` publishing to that
// receiver and nowhere else, prints the event the receiver got, and stops
// everything. Nothing leaves the machine.

import {
  sampleScenario,
  startSchedulerDouble,
} from "../tests/fixtures/scheduler_double.ts";
import { startReceiverProcess } from "../tests/fixtures/receiver_process.ts";

import { shippedRunArgs } from "./permissions.ts";
import { denoCommand } from "./runtime_env.ts";

const say = (line: string) => console.error(`demo: ${line}`);

const stateDir = await Deno.makeTempDir({ prefix: "hodometer-demo-" });
const scheduler = await startSchedulerDouble(sampleScenario());
say(`scheduler double with a sample cluster on 127.0.0.1:${scheduler.port}`);
const receiver = await startReceiverProcess({
  args: ["--record-level", "all"],
  env: { STORE: ":memory:" },
});
say(`hodometer receive on ${receiver.url}`);

let exitCode = 1;
try {
  say("hodometer run --once (its logs follow)");
  const run = await denoCommand({
    args: [...shippedRunArgs(), "run", "--once"],
    env: {
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PLAINTXT_PORT: String(scheduler.port),
      PUBLISH_URL: receiver.url,
      EXTRA_PUBLISH_URLS: "",
      DO_NOT_TRACK: "",
      CLUSTER_ID: "",
      KUBECONFIG: "",
      KUBERNETES_SERVICE_HOST: "",
      STATE_DIR: stateDir,
    },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  const events = await (await fetch(`${receiver.url}/events`)).json();
  say(
    `hodometer run exited with ${run.code}; the receiver holds ${events.length} event(s):`,
  );
  console.log(JSON.stringify(events, null, 2));
  exitCode = run.code === 0 && events.length === 1 ? 0 : 1;
} finally {
  await receiver.stop();
  await scheduler.close();
  await Deno.remove(stateDir, { recursive: true });
}
Deno.exit(exitCode);
